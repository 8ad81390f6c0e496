"""Fault rules (emulator control): make aiiro fail the way the real service does, on demand.
This module checks and keeps the rules; domain/faults.py says what each does when it
strikes.

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
    retake_refused  retakesnapshot                -                 a "created" snapshot is refused
                                                                    (400 A4032), the strict reading

`http_error` and `latency` strike at the HTTP layer (api/faultgate.py), after the token and
quota checks. The other actions are domain actions (domain/faults.py: the code that runs
the operation takes the hit and acts on it). When a domain action names no operation, the
first of its operations above is used.

For http_error, `shape` is "backend" ({"success":false,"errorMessage",..,"errorCode"}) or
"gateway" ({"errorCode":"<status>","errorMessage",..,"developerMessage",..}); it defaults to
"gateway" for status 401 and 429 and on the token endpoint, "backend" elsewhere. A 429 in
the gateway shape is the real quota answer, X-Quota-* headers included.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from aiiro.domain.errors import invalid
from aiiro.domain.faults import (
    COMMANDS,
    DEFAULT_DAILY_LIMIT,
    DOMAIN_ACTIONS,
    HTTP_ACTIONS,
    operation_name,
)
from aiiro.inputs import stored
from aiiro.runtime import Runtime
from aiiro.store.fault_rules import Rule
from aiiro.store.models import FaultRule


@cache
def endpoint_names() -> tuple[str, ...]:
    """The names fault rules give the Indigo endpoints: each endpoint's declared `fault`
    (api/endpoint.py), in declaration order."""
    from aiiro.api.app import endpoints

    return tuple(dict.fromkeys(e.fault for e in endpoints()))


METHODS = ("get", "post", "put", "delete")
PARAMS: dict[str, frozenset[str]] = {
    "http_error": frozenset({"status", "errorCode", "errorMessage", "shape", "developerMessage"}),
    "latency": frozenset({"seconds"}),
    "daily_cap": frozenset({"limit"}),
}
MAX_LATENCY_S = 300.0


# --- operation names ------------------------------------------------------------------


def canonical_operation(operation: str) -> str:
    """A rule's operation in its one stored form, or 400 if it names nothing."""
    op = operation_name(operation)
    name, _, qualifier = op.partition(":")
    if name != "*" and name not in endpoint_names():
        raise invalid("operation", f"names no Indigo endpoint ({operation!r})")
    if (
        qualifier
        and qualifier not in METHODS
        and not (name == "statusupdate" and qualifier in COMMANDS)
    ):
        raise invalid("operation", f"has an unknown qualifier ({qualifier!r})")
    return op


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
    if count is not None and stored(count) is None:
        raise invalid("count", "is out of range")
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
    rt.fault_rules.changed(s)
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
    stmt = delete(FaultRule)
    if rule_id is not None:
        stmt = stmt.where(FaultRule.id == rule_id)
    n = int(s.execute(stmt).rowcount)  # type: ignore[attr-defined]
    rt.fault_rules.changed(s)
    return n
