"""The aiiro SDK: a typed Python client for the WebARENA Indigo API (the real service or
an aiiro server).

    from aiiro.client import Indigo
    indigo = Indigo()  # credentials from arguments, environment, profile or ~/.webarena_secret
    web1 = indigo.instances.create_and_start("web1", os="Debian12", plan="1CR768MB",
                                             ssh_key="mykey")

The errors are here at once; `Indigo`, `AsyncIndigo` and the models (aiiro.client.models)
load when first used, so that importing a part of the SDK stays cheap.
"""

from __future__ import annotations

from aiiro.client.errors import (
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

TYPE_CHECKING = False  # (typing.TYPE_CHECKING, without importing typing: CLI start-up)
if TYPE_CHECKING:
    from typing import Any

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
    from aiiro.client.tokens import Token

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


def __getattr__(name: str) -> Any:
    # The client and the models load on first use: importing any submodule runs this file
    # (the CLI's fast path imports a few), and httpx or the models' dataclasses would cost
    # it start-up time.
    if name in ("Indigo", "AsyncIndigo"):
        from aiiro.client import indigo

        return getattr(indigo, name)
    if name in __all__:
        from aiiro.client import models

        return getattr(models, name)
    raise AttributeError(f"module 'aiiro.client' has no attribute {name!r}")
