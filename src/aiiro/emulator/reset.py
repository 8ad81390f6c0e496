"""Reset: back to a clean server. Accounts, API keys and tokens survive, so the
credentials a test suite holds keep working."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete

from aiiro.runtime import Runtime
from aiiro.store.models import (
    FaultRule,
    Firewall,
    FirewallRule,
    Instance,
    IpAddress,
    Operation,
    QuotaWindow,
    Snapshot,
    SshKey,
)

RESET_TABLES = (
    Operation,
    Snapshot,
    FirewallRule,
    Firewall,
    IpAddress,
    Instance,
    SshKey,
    FaultRule,
    QuotaWindow,
)

# Other parts of aiiro (engine, driver, request log) register what they forget on reset.
RESET_HOOKS: list[Callable[[Runtime], None]] = []


def reset_state(rt: Runtime) -> None:
    with rt.db.write() as s:
        for table in RESET_TABLES:
            s.execute(delete(table))
    log = rt.extras.get("request_log")
    if log is not None:
        log.clear()
    for hook in RESET_HOOKS:
        hook(rt)
