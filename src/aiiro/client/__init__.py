"""The aiiro SDK: a typed Python client for the WebARENA Indigo API (the real service or
an aiiro server).

    from aiiro.client import Indigo
    indigo = Indigo()  # credentials from arguments, environment, profile or ~/.webarena_secret
    web1 = indigo.instances.create_and_start("web1", os="Debian12", plan="1CR768MB",
                                             ssh_key="mykey")

`Indigo` and `AsyncIndigo` load httpx when first used, so importing the models and errors
stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiiro.client.errors import (
    APIError,
    AuthError,
    BootFailed,
    ConfigError,
    IndigoError,
    InvalidRequest,
    LookupFailed,
    NetworkError,
    NotFoundError,
    QuotaError,
    ServerError,
    StateError,
    WaitTimeout,
)
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
    Token,
)

if TYPE_CHECKING:
    from aiiro.client.indigo import AsyncIndigo, Indigo

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


def __getattr__(name: str) -> Any:
    if name in ("Indigo", "AsyncIndigo"):
        from aiiro.client import indigo

        return getattr(indigo, name)
    raise AttributeError(f"module 'aiiro.client' has no attribute {name!r}")
