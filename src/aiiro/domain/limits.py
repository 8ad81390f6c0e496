"""How much one account may hold: instances, SSH keys, firewall templates, API keys.

The defaults (settings, AIIRO_LIMIT_*) are far above what a small team uses and low
enough that one tenant cannot take a region's addresses or a host's memory from the
others; the operator sets other figures per account (`PUT /_aiiro/accounts/{id}/limits`,
kept in Account.limits). A create past the limit is refused with an Indigo-shaped 400
(A4070) and changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aiiro.domain.errors import LIMIT_REACHED, IndigoError
from aiiro.runtime import Runtime
from aiiro.store.models import Account, ApiKey, Firewall, Instance, SshKey

# kind -> (what it counts, in the refusal's words)
KINDS = {
    "instances": "instances",
    "sshkeys": "SSH keys",
    "firewalls": "firewall templates",
    "apikeys": "API keys",
}


def defaults(rt: Runtime) -> dict[str, int]:
    s = rt.settings
    return {
        "instances": s.limit_instances,
        "sshkeys": s.limit_sshkeys,
        "firewalls": s.limit_firewalls,
        "apikeys": s.limit_apikeys,
    }


def of_account(rt: Runtime, account: Account) -> dict[str, int]:
    """The limits in force for `account`: its own where the operator set them."""
    own: dict[str, Any] = json.loads(account.limits) if account.limits else {}
    return {kind: int(own.get(kind, default)) for kind, default in defaults(rt).items()}


def set_for(rt: Runtime, account: Account, changes: dict[str, int | None]) -> dict[str, int]:
    """Set some of `account`'s limits (None: back to the default)."""
    own: dict[str, Any] = json.loads(account.limits) if account.limits else {}
    for kind, value in changes.items():
        if value is None:
            own.pop(kind, None)
        else:
            own[kind] = value
    account.limits = json.dumps(own, sort_keys=True) if own else None
    return of_account(rt, account)


def check(rt: Runtime, s: Session, account_id: int, kind: str) -> None:
    """Refuse (A4070) one more of `kind` for the account when it holds its limit."""
    account = s.get(Account, account_id)
    if account is None:
        return
    limit = of_account(rt, account)[kind]
    if _count(s, account_id, kind) >= limit:
        raise IndigoError(
            400,
            LIMIT_REACHED,
            f"The account's limit of {limit} {KINDS[kind]} is reached.",
        )


def _count(s: Session, account_id: int, kind: str) -> int:
    if kind == "instances":
        q = select(func.count(Instance.id)).where(
            Instance.account_id == account_id, Instance.removed_at.is_(None)
        )
    elif kind == "sshkeys":
        q = select(func.count(SshKey.id)).where(SshKey.account_id == account_id)
    elif kind == "firewalls":
        q = select(func.count(Firewall.id)).where(
            Firewall.account_id == account_id, Firewall.deleted_at.is_(None)
        )
    else:
        q = select(func.count(ApiKey.id)).where(ApiKey.account_id == account_id)
    return int(s.scalar(q) or 0)
