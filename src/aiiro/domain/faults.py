"""What a fault rule does when it strikes (emulator/faults.py says what rules there are and
how an operator makes them; store/fault_rules.py keeps them).

Domain actions (out of stock, a stop that hangs, a failed snapshot, a boot stuck at GRUB,
the daily creation cap, the strict refusal of retakesnapshot) are taken by the code that
runs the operation: it calls `take(rt, s, operation, account_id)` inside its transaction
and acts on the hit. HTTP actions (latency, http_error) strike at the HTTP layer, before
the handler runs (`take_http`). Probabilities draw from `rt.rand`, so a seed makes them
reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from aiiro.domain.errors import (
    DAILY_CREATE_LIMIT,
    INJECTED_FAULT,
    SNAPSHOT_NOT_FAILED,
    GatewayError,
    IndigoError,
)
from aiiro.runtime import Runtime
from aiiro.store.fault_rules import Rule
from aiiro.store.models import FaultRule, Instance

COMMANDS = ("start", "stop", "forcestop", "reset", "destroy")
# Other names of operations: a command alone means statusupdate with that command.
ALIASES = {"instance/statusupdate": "statusupdate", **{c: f"statusupdate:{c}" for c in COMMANDS}}
HTTP_ACTIONS = ("http_error", "latency")
DOMAIN_ACTIONS: dict[str, tuple[str, ...]] = {
    "out_of_stock": ("createinstance",),
    "import_invalid": ("createinstance",),
    "daily_cap": ("createinstance",),
    "stop_hangs": ("statusupdate:stop",),
    "snapshot_fails": ("takesnapshot", "retakesnapshot"),
    "boot_stuck": ("restoresnapshot",),
    "retake_refused": ("retakesnapshot",),
}
DEFAULT_DAILY_LIMIT = 10


def operation_name(operation: str) -> str:
    """An operation in its one stored form: lower case, aliases resolved ("stop" is
    "statusupdate:stop")."""
    op = operation.strip().lower()
    op = ALIASES.get(op, op)
    name, _, qualifier = op.partition(":")
    name = ALIASES.get(name, name)
    return f"{name}:{qualifier}" if qualifier else name


def request_operations(name: str, method: str, command: str | None = None) -> frozenset[str]:
    """Every rule operation that matches a request to endpoint `name`."""
    m = method.lower()
    ops = {"*", f"*:{m}", name, f"{name}:{m}"}
    if name == "statusupdate" and command:
        ops.add(f"statusupdate:{command.lower()}")
    return frozenset(ops)


@dataclass(frozen=True)
class FaultHit:
    action: str
    params: dict[str, Any] = field(default_factory=dict)
    rule_id: int | None = None
    # The error to raise for actions that answer with one (out_of_stock, daily_cap).
    error: IndigoError | None = None


def has_http_rules(rt: Runtime) -> bool:
    return any(r.action in HTTP_ACTIONS for r in rt.fault_rules.rules(rt.db))


# --- striking -------------------------------------------------------------------------


def take(
    rt: Runtime,
    s: Session,
    operation: str,
    account_id: int | None,
    actions: tuple[str, ...] = tuple(DOMAIN_ACTIONS),
) -> FaultHit | None:
    """The domain fault among `actions` that strikes this `operation` now, if any
    (consuming one count). An operation that takes several actions at different points
    (retakesnapshot) names the ones each point acts on, so none is spent where it does
    nothing.

    Call it inside the transaction that does the operation (before adding what it
    creates). A count is spent even if that transaction is rolled back: the fault struck.
    """
    op = operation_name(operation)
    for rule in rt.fault_rules.rules(rt.db):
        if rule.action not in actions or rule.operation != op:
            continue
        if not rule.applies_to(account_id):
            continue
        if rule.action == "daily_cap":
            error = _daily_cap(rt, s, rule, account_id)
            if error is not None:
                return FaultHit(rule.action, rule.params, rule.id, error)
            continue
        if _strikes(rt, rule) and _consume(rt, s, rule):
            return FaultHit(rule.action, rule.params, rule.id, _domain_error(rule.action))
    return None


def take_http(rt: Runtime, operations: frozenset[str], account_id: int | None) -> list[FaultHit]:
    """The HTTP faults (latency, http_error) that strike a request now, in rule order."""
    hits = []
    for rule in rt.fault_rules.rules(rt.db):
        if rule.action not in HTTP_ACTIONS or rule.operation not in operations:
            continue
        if not rule.applies_to(account_id) or not _strikes(rt, rule):
            continue
        if rule.remaining is not None:
            with rt.db.write() as s:
                if not _consume(rt, s, rule):
                    continue
        hits.append(FaultHit(rule.action, rule.params, rule.id))
    return hits


def _strikes(rt: Runtime, rule: Rule) -> bool:
    return rule.probability is None or rt.rand.random() < rule.probability


def _consume(rt: Runtime, s: Session, rule: Rule) -> bool:
    """Spend one count of `rule` (True), or find it already spent (False)."""
    if rule.remaining is None:
        return True
    if _is_write_session(s):
        taken = _take_one(s, rule.id)
        if taken:
            _respend_on_rollback(rt, s, rule.id)
    else:
        # A read session is never committed: spend the count in a transaction of its own
        # (WAL readers do not block it).
        with rt.db.write() as w:
            taken = _take_one(w, rule.id)
    if not taken or rule.remaining <= 1:
        rt.fault_rules.invalidate()
    return taken


def _take_one(s: Session, rule_id: int) -> bool:
    result = s.execute(
        update(FaultRule)
        .where(FaultRule.id == rule_id, FaultRule.remaining > 0)
        .values(remaining=FaultRule.remaining - 1)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _is_write_session(s: Session) -> bool:
    return bool(s.get_bind().get_execution_options().get("aiiro_write"))


def _respend_on_rollback(rt: Runtime, s: Session, rule_id: int) -> None:
    """If the caller's transaction rolls back (it raised the fault's own error, say), spend
    the count again once the rollback has released the write lock."""
    pending: list[int] = s.info.setdefault("aiiro_spent_faults", [])
    if not pending:

        def _rolled_back(session: Session) -> None:
            spent = list(session.info.pop("aiiro_spent_faults", []))
            for rid in spent:
                with rt.db.write() as w:
                    _take_one(w, rid)

        def _committed(session: Session) -> None:
            session.info.pop("aiiro_spent_faults", None)

        event.listen(s, "after_rollback", _rolled_back)
        event.listen(s, "after_commit", _committed)
    pending.append(rule_id)


def _daily_cap(rt: Runtime, s: Session, rule: Rule, account_id: int | None) -> IndigoError | None:
    if account_id is None:
        return None
    limit = int(rule.params.get("limit", DEFAULT_DAILY_LIMIT))
    since = rt.clock.now() - timedelta(days=1)
    made = s.scalar(
        select(func.count(Instance.id)).where(
            Instance.account_id == account_id, Instance.created_at > since
        )
    )
    if int(made or 0) < limit:
        return None
    message = f"The daily limit of {limit} instance creations has been reached."
    return IndigoError(400, DAILY_CREATE_LIMIT, message + " Please try again later.")


def _domain_error(action: str) -> IndigoError | None:
    if action == "out_of_stock":
        return IndigoError(400, "I10059", "Out of stock.")
    if action == "retake_refused":
        return IndigoError(400, SNAPSHOT_NOT_FAILED, "Only a failed snapshot can be taken again.")
    return None


def injected_error(
    rt: Runtime, params: dict[str, Any], gateway_default: bool, api_key_id: int | None
) -> IndigoError | GatewayError:
    """The error an http_error fault answers with."""
    from aiiro.domain.quota import QuotaExceeded, QuotaState, _identifier

    status = int(params.get("status", 500))
    shape = params.get("shape") or ("gateway" if gateway_default or status in (401, 429) else "")
    message = params.get("errorMessage")
    if shape != "gateway":
        return IndigoError(
            status, str(params.get("errorCode", INJECTED_FAULT)), message or "Injected fault."
        )
    if status == 429:
        now_ms = int(rt.clock.time() * 1000)
        state = QuotaState(rt.settings.quota_per_minute, 0, now_ms - now_ms % 60_000 + 60_000)
        return QuotaExceeded(state, _identifier(rt, api_key_id or 0))
    if status == 401:
        message = message or "Invalid access token."
    return GatewayError(
        status,
        message or "Injected fault.",
        str(params.get("developerMessage", "An injected fault (aiiro emulator).")),
    )
