"""Emulator controls under /_aiiro/ (admin token): clock, seed, timing profile, fault
rules, the request log and the quota's recent minutes. Reset and accounts are in
emulator/admin.py; docs/emulator.md has examples. Plain functions, run in worker threads
(see emulator/admin.py)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from sqlalchemy.orm import Session

from aiiro.api import render
from aiiro.api.auth import engine, runtime
from aiiro.api.body import Body, Id, body_of, body_schema, path_id, query_int
from aiiro.clock import epoch_ms
from aiiro.domain import accounts, quota
from aiiro.domain.errors import APIKEY_NOT_FOUND, FAULT_NOT_FOUND, invalid, not_found
from aiiro.emulator import faults, state
from aiiro.emulator.admin import admin
from aiiro.runtime import Runtime
from aiiro.store.fault_rules import Rule
from aiiro.store.models import ApiKey

router = APIRouter(prefix="/_aiiro", tags=["emulator"], dependencies=[Depends(admin)])

# Ten years: far enough for any test, near enough that datetimes stay valid.
MAX_ADVANCE_S = 10 * 366 * 86400


class Advance(Body):
    seconds: float


class Seed(Body):
    seed: int | None = Field(ge=-(2**63), lt=2**63)


class ProfileChange(Body):
    profile: Literal["fast", "faithful", "instant"] | None = None
    quota: bool | None = None


class NewFault(Body):
    action: str
    operation: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    probability: float | None = None
    count: int | None = None
    account_id: Id | None = None


# --- clock ----------------------------------------------------------------------------


def clock_json(rt: Runtime) -> dict[str, Any]:
    now = rt.clock.now()
    return {
        "now": render.timestamp(now),
        "epoch_ms": epoch_ms(now),
        "offset_seconds": rt.clock.offset,
    }


@router.get("/clock", summary="The server clock (real time plus the offset)")
async def get_clock(request: Request) -> dict[str, Any]:
    return clock_json(runtime(request))


@router.post(
    "/clock/advance",
    openapi_extra=body_schema(Advance),
    summary="Move the server clock forward and run what fell due",
)
def advance_clock(request: Request, body: Advance = Depends(body_of(Advance))) -> Any:
    rt, work = runtime(request), engine(request)
    if not math.isfinite(body.seconds) or not 0 <= body.seconds <= MAX_ADVANCE_S:
        raise invalid("seconds", f"must be between 0 and {MAX_ADVANCE_S} (the clock only moves on)")
    # First what is due now (a command just answered whose first step the worker thread
    # has not reached yet), so it starts when it was asked for, not after.
    ran = work.run_due() if work.threaded else 0
    state.advance_clock(rt, body.seconds)
    ran += work.run_due()
    return {**clock_json(rt), "ran": ran}


# --- seed -----------------------------------------------------------------------------


@router.get("/seed", summary="The seed in force (null: unpredictable values)")
def get_seed(request: Request) -> dict[str, Any]:
    return {"seed": state.current_seed(runtime(request))}


@router.post(
    "/seed",
    openapi_extra=body_schema(Seed),
    summary="Make generated values (keys, tokens, addresses...) reproducible",
)
def set_seed(request: Request, body: Seed = Depends(body_of(Seed))) -> dict[str, Any]:
    rt = runtime(request)
    if body.seed is not None and not rt.settings.loopback_only:
        # A seed makes API secrets, tokens and session ids predictable: tests only.
        raise invalid("seed", "is for test servers on a loopback address only")
    epoch = state.set_seed(rt, body.seed)
    return {"seed": body.seed, "epoch": epoch}


# --- profile --------------------------------------------------------------------------


def profile_json(rt: Runtime) -> dict[str, Any]:
    return {
        "profile": rt.profile,
        "quota": rt.quota,
        "timings": rt.timings.as_dict(),
    }


@router.get("/profile", summary="The timing profile, its durations, and whether the quota is on")
async def get_profile(request: Request) -> dict[str, Any]:
    return profile_json(runtime(request))


@router.put(
    "/profile",
    openapi_extra=body_schema(ProfileChange),
    summary="Switch the timing profile (and the quota) for every process, until switched again",
)
def put_profile(
    request: Request, body: ProfileChange = Depends(body_of(ProfileChange))
) -> dict[str, Any]:
    rt = runtime(request)
    # The quota follows the start-up profile only (see config.py), so a switch of the
    # profile leaves it as it was unless the caller says otherwise.
    state.switch(rt, engine(request), body.profile, body.quota)
    return profile_json(rt)


# --- faults ---------------------------------------------------------------------------


def fault_json(rule: Rule) -> dict[str, Any]:
    return render.fields(
        rule,
        ("id", "operation", "action", "params", "probability", "remaining", "account_id"),
        times=("created_at",),
    )


@router.get("/faults", summary="Fault rules, spent ones included")
def list_faults(request: Request) -> dict[str, Any]:
    with runtime(request).db.read() as s:
        rules = faults.list_rules(s)
    return {"total": len(rules), "faults": [fault_json(r) for r in rules]}


@router.post(
    "/faults",
    status_code=201,
    openapi_extra=body_schema(NewFault),
    summary="Add a fault rule",
)
def add_fault(request: Request, body: NewFault = Depends(body_of(NewFault))) -> dict[str, Any]:
    rt = runtime(request)

    def added(s: Session) -> Rule:
        if body.account_id is not None and accounts.get_account(s, body.account_id) is None:
            raise invalid("account_id", "names no account")
        return faults.add_rule(
            rt,
            s,
            body.action,
            body.operation,
            body.params,
            body.probability,
            body.count,
            body.account_id,
        )

    return fault_json(engine(request).apply(added))


def _fault_id(raw: str) -> int:
    rule_id = path_id(raw)
    if rule_id is None:
        raise not_found(FAULT_NOT_FOUND, "Fault rule not found.")
    return rule_id


@router.get("/faults/{fault_id}", summary="One fault rule")
def get_fault(fault_id: str, request: Request) -> dict[str, Any]:
    with runtime(request).db.read() as s:
        rule = faults.get_rule(s, _fault_id(fault_id))
    if rule is None:
        raise not_found(FAULT_NOT_FOUND, "Fault rule not found.")
    return fault_json(rule)


@router.delete("/faults", summary="Remove every fault rule")
def clear_faults(request: Request) -> dict[str, Any]:
    rt = runtime(request)
    return {"deleted": engine(request).apply(lambda s: faults.delete_rules(rt, s))}


@router.delete("/faults/{fault_id}", summary="Remove one fault rule")
def delete_fault(fault_id: str, request: Request) -> dict[str, Any]:
    rt = runtime(request)
    n = engine(request).apply(lambda s: faults.delete_rules(rt, s, _fault_id(fault_id)))
    if n == 0:
        raise not_found(FAULT_NOT_FOUND, "Fault rule not found.")
    return {"deleted": n}


# --- request log ----------------------------------------------------------------------


@router.get("/requests", summary="Recent Indigo API requests, oldest first, secrets redacted")
def list_requests(request: Request) -> dict[str, Any]:
    account_id = query_int(request, "account_id")
    limit = query_int(request, "limit")
    if limit is not None and limit < 0:
        raise invalid("limit", "must be 0 or more")
    api_key_id = query_int(request, "api_key_id")
    items = runtime(request).request_log.entries(
        account_id, 100 if limit is None else limit, api_key_id
    )
    return {"total": len(items), "requests": items}


@router.delete("/requests", summary="Forget the logged requests")
def clear_requests(request: Request) -> dict[str, Any]:
    return {"deleted": runtime(request).request_log.clear()}


# --- quota --------------------------------------------------------------------------


def quota_json(rt: Runtime) -> dict[str, Any]:
    return {
        "quota": rt.quota,
        "allowed": rt.settings.quota_per_minute,
        "minutes_kept": quota.KEEP_MINUTES,
        "now": render.timestamp(rt.clock.now()),
    }


def _key_json(key: dict[str, Any]) -> dict[str, Any]:
    for minute in key["minutes"]:
        start = datetime.fromtimestamp(minute["start_ms"] / 1000, UTC)
        minute["start"] = render.timestamp(start)
    return key


@router.get(
    "/quota",
    summary="Each API key's requests and 429s in the current and recent minutes",
)
def get_quota(request: Request) -> dict[str, Any]:
    rt = runtime(request)
    account_id = query_int(request, "account_id")
    with rt.db.read() as s:
        keys = quota.recent(rt, s, account_id=account_id)
    return {**quota_json(rt), "keys": [_key_json(k) for k in keys]}


@router.get("/quota/{api_key_id}", summary="One API key's requests and 429s, minute by minute")
def get_key_quota(api_key_id: str, request: Request) -> dict[str, Any]:
    rt = runtime(request)
    key_id = path_id(api_key_id)
    with rt.db.read() as s:
        key = None if key_id is None else s.get(ApiKey, key_id)
        if key is None:
            raise not_found(APIKEY_NOT_FOUND, "API key not found.")
        found = quota.recent(rt, s, api_key_id=key.id)
        shown = found[0] if found else quota.no_minutes(key)
    return {**quota_json(rt), **_key_json(shown)}
