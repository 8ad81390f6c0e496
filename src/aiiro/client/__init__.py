"""The aiiro SDK: a typed Python client for the WebARENA Indigo API (the real service or
an aiiro server).

    from aiiro.client import Indigo
    indigo = Indigo()  # credentials from arguments, environment, profile or ~/.webarena_secret
    web1 = indigo.instances.create_and_start("web1", os="Debian12", plan="1CR768MB",
                                             ssh_key="mykey")

The errors are those of aiiro.client_core.errors; the models are in aiiro.client.models.
"""

from __future__ import annotations

from aiiro.client.indigo import AsyncIndigo, Indigo
from aiiro.client.models import (
    ApiKey,
    Firewall,
    FirewallTemplate,
    Instance,
    InstanceType,
    NewApiKey,
    OsCategory,
    OsImage,
    Outcome,
    Plan,
    Region,
    Rule,
    Snapshot,
    SshKey,
)
from aiiro.client_core.errors import (
    APIError,
    AuthError,
    BootFailed,
    ConfigError,
    IndigoError,
    IndigoWarning,
    InvalidRequest,
    LookupFailed,
    NetworkError,
    NotFoundError,
    QuotaError,
    ServerError,
    StateError,
    WaitTimeout,
)
from aiiro.client_core.tokens import Token

__all__ = [
    "APIError",
    "ApiKey",
    "AsyncIndigo",
    "AuthError",
    "BootFailed",
    "ConfigError",
    "Firewall",
    "FirewallTemplate",
    "Indigo",
    "IndigoError",
    "IndigoWarning",
    "Instance",
    "InstanceType",
    "InvalidRequest",
    "LookupFailed",
    "NetworkError",
    "NewApiKey",
    "NotFoundError",
    "OsCategory",
    "OsImage",
    "Outcome",
    "Plan",
    "QuotaError",
    "Region",
    "Rule",
    "ServerError",
    "Snapshot",
    "SshKey",
    "StateError",
    "Token",
    "WaitTimeout",
]
