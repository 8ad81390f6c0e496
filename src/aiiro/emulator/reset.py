"""Reset: back to a clean server. Accounts, API keys and tokens survive, so the
credentials a test suite holds keep working."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

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


def reset_state(rt: Runtime, s: Session) -> None:
    """In the caller's transaction; the request log is the caller's to clear."""
    for table in RESET_TABLES:
        s.execute(delete(table))
    rt.fault_rules.changed(s)
