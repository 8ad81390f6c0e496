"""Fault rules (emulator control): make aiiro fail the way the real service does, on demand.

A rule (a `fault_rules` row) names an operation, an action and its params, and when it
strikes: with a `probability` (drawn from `rt.rand`, so a seed makes it reproducible),
for a `count` of times (the row's `remaining`; a spent rule stays listed with 0), or both;
for every account or for one `account_id`.

Operations
----------
Every Indigo endpoint has a name: the path after `/webarenaIndigo/v1/<area>/` without its
numeric ids, or `accesstokens` for the token endpoint.

    accesstokens            POST /oauth/v1/accesstokens
    sshkey                  GET|POST /vm/sshkey, GET|PUT|DELETE /vm/sshkey/{id}
    sshkey/active/status    GET /vm/sshkey/active/status
    create/apikey           GET /auth/create/apikey
    apikey                  GET /auth/apikey, DELETE /auth/apikey/{id}
    instancetypes getregion oslist getinstancespec        (catalogue, GET)
    createinstance getinstancelist
    statusupdate            POST /vm/instance/statusupdate ("instance/statusupdate" too)
    createfirewall getfirewalllist gettemplate updatefirewall assign deletefirewall
    takesnapshot snapshotlist retakesnapshot restoresnapshot deletesnapshot

A rule's operation is a name, optionally narrowed by a qualifier after ":": the HTTP
method for any endpoint ("sshkey:post", "sshkey:delete"), or the command for statusupdate
("statusupdate:stop"; "start", "stop", "forcestop", "reset", "destroy" alone mean the
same). "*" is every Indigo endpoint ("*:get" every GET).

Actions
-------
    action          operations                    params            effect
    http_error      any                           status (500),     answered with this error
                                                  errorCode,        before the handler runs
                                                  errorMessage,
                                                  shape,
                                                  developerMessage
    latency         any                           seconds           the answer comes later
    out_of_stock    createinstance                -                 400 I10059 "Out of stock."
    import_invalid  createinstance                -                 the import ends with
                                                                    "The URL entered is invalid."
    daily_cap       createinstance                limit (10)        at most `limit` creations
                                                                    per account per 24 h of
                                                                    server clock, then 400 A4060
    stop_hangs      statusupdate:stop             -                 stop answers I10025 but never
                                                                    completes; forcestop cures it
    snapshot_fails  takesnapshot, retakesnapshot  -                 the snapshot ends "failed"
    boot_stuck      restoresnapshot               -                 the next boot hangs at GRUB

`http_error` and `latency` strike at the HTTP layer (api/faultgate.py), after the token and
quota checks. The other actions are domain actions: the code that runs the operation calls
`take(rt, s, operation, account_id)` and acts on the hit; `hit.error`, when set, is the
error to raise (out_of_stock, daily_cap). When a domain action names no operation, the
first of its operations above is used.

For http_error, `shape` is "backend" ({"success":false,"errorMessage",..,"errorCode"}) or
"gateway" ({"errorCode":"<status>","errorMessage",..,"developerMessage",..}); it defaults to
"gateway" for status 401 and 429 and on the token endpoint, "backend" elsewhere. A 429 in
the gateway shape is the real quota answer, X-Quota-* headers included.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from aiiro.domain.errors import (
    DAILY_CREATE_LIMIT,
    INJECTED_FAULT,
    GatewayError,
    IndigoError,
    invalid,
)
from aiiro.emulator.reset import RESET_HOOKS
from aiiro.runtime import Runtime
from aiiro.store.models import FaultRule, Instance

ENDPOINTS = (
    "accesstokens",
    "sshkey",
    "sshkey/active/status",
    "create/apikey",
    "apikey",
    "instancetypes",
    "getregion",
    "oslist",
    "getinstancespec",
    "createinstance",
    "getinstancelist",
    "statusupdate",
    "createfirewall",
    "getfirewalllist",
    "gettemplate",
    "updatefirewall",
    "assign",
    "deletefirewall",
    "takesnapshot",
    "snapshotlist",
    "retakesnapshot",
    "restoresnapshot",
    "deletesnapshot",
)
METHODS = ("get", "post", "put", "delete")
COMMANDS = ("start", "stop", "forcestop", "reset", "destroy")
ALIASES = {"instance/statusupdate": "statusupdate", **{c: f"statusupdate:{c}" for c in COMMANDS}}

HTTP_ACTIONS = ("http_error", "latency")
DOMAIN_ACTIONS: dict[str, tuple[str, ...]] = {
    "out_of_stock": ("createinstance",),
    "import_invalid": ("createinstance",),
    "daily_cap": ("createinstance",),
    "stop_hangs": ("statusupdate:stop",),
    "snapshot_fails": ("takesnapshot", "retakesnapshot"),
    "boot_stuck": ("restoresnapshot",),
}
PARAMS: dict[str, frozenset[str]] = {
    "http_error": frozenset({"status", "errorCode", "errorMessage", "shape", "developerMessage"}),
    "latency": frozenset({"seconds"}),
    "daily_cap": frozenset({"limit"}),
}
DEFAULT_DAILY_LIMIT = 10
MAX_LATENCY_S = 300.0
# Rules changed by another process are seen within this many seconds; changes made through
# this process are seen at once.
CACHE_TTL_S = 1.0


@dataclass(frozen=True)
class FaultHit:
    action: str
    params: dict[str, Any] = field(default_factory=dict)
    rule_id: int | None = None
    # The error to raise for actions that answer with one (out_of_stock, daily_cap).
    error: IndigoError | None = None


@dataclass(frozen=True)
class Rule:
    id: int
    operation: str
    action: str
    params: dict[str, Any]
    probability: float | None
    remaining: int | None
    account_id: int | None
    created_at: datetime

    @classmethod
    def of(cls, row: FaultRule) -> Rule:
        return cls(
            row.id,
            row.operation,
            row.action,
            json.loads(row.params or "{}"),
            row.probability,
            row.remaining,
            row.account_id,
            row.created_at,
        )

    def applies_to(self, account_id: int | None) -> bool:
        return self.account_id is None or self.account_id == account_id

    @property
    def spent(self) -> bool:
        return self.remaining is not None and self.remaining <= 0


# --- operation names ------------------------------------------------------------------


def canonical_operation(operation: str) -> str:
    """A rule's operation in its one stored form, or 400 if it names nothing."""
    op = operation.strip().lower()
    op = ALIASES.get(op, op)
    name, _, qualifier = op.partition(":")
    name = ALIASES.get(name, name)
    if name != "*" and name not in ENDPOINTS:
        raise invalid("operation", f"names no Indigo endpoint ({operation!r})")
    if (
        qualifier
        and qualifier not in METHODS
        and not (name == "statusupdate" and qualifier in COMMANDS)
    ):
        raise invalid("operation", f"has an unknown qualifier ({qualifier!r})")
    return f"{name}:{qualifier}" if qualifier else name


def endpoint_name(path: str) -> str | None:
    """The name of the Indigo endpoint at `path`, or None for other paths."""
    if path.rstrip("/") == "/oauth/v1/accesstokens":
        return "accesstokens"
    prefix = "/webarenaIndigo/v1/"
    if not path.startswith(prefix):
        return None
    parts = [p for p in path[len(prefix) :].split("/") if p][1:]
    name = "/".join(p for p in parts if not p.isdigit()).lower()
    return ALIASES.get(name, name)


def request_operations(name: str, method: str, command: str | None = None) -> frozenset[str]:
    """Every rule operation that matches a request to endpoint `name`."""
    m = method.lower()
    ops = {"*", f"*:{m}", name, f"{name}:{m}"}
    if name == "statusupdate" and command:
        ops.add(f"statusupdate:{command.lower()}")
    return frozenset(ops)


# --- the rule cache -------------------------------------------------------------------


class RuleCache:
    """The live rules, so that a request with no rule to match costs no query."""

    def __init__(self) -> None:
        self._rules: list[Rule] | None = None
        self._loaded = 0.0
        self._lock = threading.Lock()

    def rules(self, rt: Runtime) -> list[Rule]:
        rules = self._rules
        if rules is not None and time.monotonic() - self._loaded < CACHE_TTL_S:
            return rules
        with rt.db.read() as s:
            rows = s.scalars(select(FaultRule).order_by(FaultRule.id))
            fresh = [r for r in map(Rule.of, rows) if not r.spent]
        with self._lock:
            self._rules, self._loaded = fresh, time.monotonic()
        return fresh

    def invalidate(self) -> None:
        with self._lock:
            self._rules = None


def cache(rt: Runtime) -> RuleCache:
    found: RuleCache | None = rt.extras.get("fault_rules")
    if found is None:
        found = rt.extras.setdefault("fault_rules", RuleCache())
    return found


RESET_HOOKS.append(lambda rt: cache(rt).invalidate())


def has_http_rules(rt: Runtime) -> bool:
    return any(r.action in HTTP_ACTIONS for r in cache(rt).rules(rt))


# --- striking -------------------------------------------------------------------------


def take(rt: Runtime, s: Session, operation: str, account_id: int | None) -> FaultHit | None:
    """The domain fault that strikes this `operation` now, if any (consuming one count).

    Call it inside the transaction that does the operation (before adding what it
    creates). A count is spent even if that transaction is rolled back: the fault struck.
    """
    op = canonical_operation(operation)
    for rule in cache(rt).rules(rt):
        if rule.action not in DOMAIN_ACTIONS or rule.operation != op:
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
    for rule in cache(rt).rules(rt):
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
        cache(rt).invalidate()
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


# --- rule management ------------------------------------------------------------------


def add_rule(
    rt: Runtime,
    s: Session,
    action: str,
    operation: str | None = None,
    params: dict[str, Any] | None = None,
    probability: float | None = None,
    count: int | None = None,
    account_id: int | None = None,
) -> Rule:
    params = dict(params or {})
    op = _check_operation(action, operation)
    _check_params(action, params)
    if probability is not None and not 0 < probability <= 1:
        raise invalid("probability", "must be more than 0 and at most 1")
    if count is not None and count < 1:
        raise invalid("count", "must be at least 1")
    if action == "daily_cap" and (probability is not None or count is not None):
        raise invalid("daily_cap", "is a limit and takes neither probability nor count")
    row = FaultRule(
        operation=op,
        action=action,
        params=json.dumps(params),
        probability=probability,
        remaining=count,
        account_id=account_id,
        created_at=rt.clock.now(),
    )
    s.add(row)
    s.flush()
    cache(rt).invalidate()
    return Rule.of(row)


def _check_operation(action: str, operation: str | None) -> str:
    if action in HTTP_ACTIONS:
        if not operation:
            raise invalid("operation", "is required for http_error and latency")
        return canonical_operation(operation)
    allowed = DOMAIN_ACTIONS.get(action)
    if allowed is None:
        known = ", ".join((*HTTP_ACTIONS, *DOMAIN_ACTIONS))
        raise invalid("action", f"must be one of {known}")
    op = canonical_operation(operation) if operation else allowed[0]
    if op not in allowed:
        raise invalid("operation", f"must be {' or '.join(allowed)} for {action}")
    return op


def _check_params(action: str, params: dict[str, Any]) -> None:
    unknown = set(params) - PARAMS.get(action, frozenset())
    if unknown:
        raise invalid("params", f"has keys {action} does not take: {', '.join(sorted(unknown))}")
    if action == "http_error":
        status = params.get("status", 500)
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise invalid("params.status", "must be an HTTP error status (400-599)")
        for key in ("errorCode", "errorMessage", "developerMessage"):
            if key in params and not isinstance(params[key], str):
                raise invalid(f"params.{key}", "must be a string")
        if params.get("shape") not in (None, "backend", "gateway"):
            raise invalid("params.shape", "must be backend or gateway")
    elif action == "latency":
        seconds = params.get("seconds")
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not 0 < seconds <= MAX_LATENCY_S
        ):
            raise invalid("params.seconds", f"must be a number of seconds (0-{MAX_LATENCY_S:g})")
    elif action == "daily_cap":
        limit = params.get("limit", DEFAULT_DAILY_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise invalid("params.limit", "must be a whole number, 0 or more")


def list_rules(s: Session) -> list[Rule]:
    return [Rule.of(r) for r in s.scalars(select(FaultRule).order_by(FaultRule.id))]


def get_rule(s: Session, rule_id: int) -> Rule | None:
    row = s.get(FaultRule, rule_id)
    return None if row is None else Rule.of(row)


def delete_rules(rt: Runtime, s: Session, rule_id: int | None = None) -> int:
    from sqlalchemy import delete

    stmt = delete(FaultRule)
    if rule_id is not None:
        stmt = stmt.where(FaultRule.id == rule_id)
    n = int(s.execute(stmt).rowcount)  # type: ignore[attr-defined]
    cache(rt).invalidate()
    return n
