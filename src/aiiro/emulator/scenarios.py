"""Named scenarios: the races Indigo users meet in production, each set up by one call
(`POST /_aiiro/scenarios/NAME`), composed of the other controls: fault rules, the timing
profile and the quota switch, and a power command sent as another actor would.

SCENARIOS is the one declaration: the endpoint, `GET /_aiiro/scenarios`, the pytest
marker (aiiro.testing), the CLI (`aiiro scenario`) and the list in docs/emulator.md
(checked by a test) all come from it. Each says what it sets up, the race the client then
meets, and what a robust client does about it.

A scenario lasts as its parts do: fault rules until spent or reset; a profile or quota
switch until switched again (a reset keeps it; the pytest marker switches back after the
test); a command sent to an instance runs its course.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from aiiro.api.auth import engine, runtime
from aiiro.api.body import Body, Id, body_of, body_schema
from aiiro.domain import accounts, instances, quota
from aiiro.domain.errors import (
    INSTANCE_NOT_FOUND,
    SCENARIO_NOT_FOUND,
    invalid,
    missing,
    not_found,
)
from aiiro.domain.lifecycle import Command, Power
from aiiro.emulator import faults as fault_rules
from aiiro.emulator import state
from aiiro.emulator.admin import admin
from aiiro.engine.worker import Engine
from aiiro.runtime import Runtime
from aiiro.store.models import ApiKey, Instance

router = APIRouter(prefix="/_aiiro", tags=["emulator"], dependencies=[Depends(admin)])


class Params(Body):
    """What a scenario may be given; each uses the fields its `params` names."""

    instance_id: Id | None = None
    account_id: Id | None = None
    count: int | None = Field(default=None, ge=1, le=1000)
    limit: int | None = Field(default=None, ge=0, le=1000)


Setup = Callable[[Runtime, Engine, Params], dict[str, Any]]


@dataclass(frozen=True)
class Scenario:
    name: str
    sets_up: str
    race: str
    robust: str
    # The Params fields it uses; "instance_id" first when it needs one.
    params: tuple[str, ...]
    setup: Setup

    @property
    def needs_instance(self) -> bool:
        return self.params[:1] == ("instance_id",)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sets_up": self.sets_up,
            "race": self.race,
            "robust": self.robust,
            "params": list(self.params),
        }


# --- the parts scenarios are made of ---------------------------------------------------


def _instance(work: Engine, p: Params) -> Instance:
    """The instance named, as it is now (what fell due has run)."""
    with work.view() as s:
        inst = s.get(Instance, p.instance_id) if p.instance_id is not None else None
        if inst is None or inst.removed_at is not None:
            raise not_found(INSTANCE_NOT_FOUND, "Instance not found.")
        return inst


def _command(work: Engine, inst: Instance, cmd: Command) -> None:
    """Send `cmd` to the instance as another actor (the panel, another process of the
    client) would; what fell due runs before the scenario answers."""
    work.apply(lambda s: instances.command(work.rt, s, inst.account_id, inst.id, cmd))


def _fault(rt: Runtime, work: Engine, action: str, p: Params, **rule: Any) -> dict[str, Any]:
    def added(s: Session) -> int:
        if p.account_id is not None and accounts.get_account(s, p.account_id) is None:
            raise invalid("account_id", "names no account")
        return fault_rules.add_rule(rt, s, action, account_id=p.account_id, **rule).id

    return {"fault_id": work.apply(added)}


def _profile(rt: Runtime, work: Engine, name: str | None, quota_on: bool | None) -> dict[str, Any]:
    state.switch(rt, work, name, quota_on)
    return {"profile": rt.profile, "quota": rt.quota}


def _power(inst: Instance) -> Power:
    return Power(inst.power)


def _settled(inst: Instance, *allowed: Power) -> None:
    if _power(inst) not in allowed:
        shown = ", ".join(p.value for p in allowed)
        raise invalid("instance_id", f"names an instance that is {inst.power}, not {shown}")


# --- the scenarios ----------------------------------------------------------------------


def _wrong_state(rt: Runtime, work: Engine, p: Params) -> dict[str, Any]:
    inst = _instance(work, p)
    _settled(inst, Power.STOPPED, Power.RUNNING)
    cmd = Command.START if _power(inst) is Power.STOPPED else Command.STOP
    _command(work, inst, cmd)
    return {"instance_id": inst.id, "sent": cmd.value}


def _destroy_while_running(rt: Runtime, work: Engine, p: Params) -> dict[str, Any]:
    inst = _instance(work, p)
    _settled(inst, Power.STOPPED, Power.RUNNING)
    if _power(inst) is Power.RUNNING:
        return {"instance_id": inst.id, "sent": None}
    _command(work, inst, Command.START)
    return {"instance_id": inst.id, "sent": "start"}


def _provisioning(rt: Runtime, work: Engine, p: Params) -> dict[str, Any]:
    return _profile(rt, work, "faithful", None)


def _mid_command(rt: Runtime, work: Engine, p: Params) -> dict[str, Any]:
    inst = _instance(work, p)
    _settled(inst, Power.RUNNING)
    switched = _profile(rt, work, "faithful", None)
    _command(work, inst, Command.STOP)
    return {**switched, "instance_id": inst.id, "sent": "stop"}


def _slow_stop(rt: Runtime, work: Engine, p: Params) -> dict[str, Any]:
    return _profile(rt, work, "faithful", None)


def _stop_hangs(rt: Runtime, work: Engine, p: Params) -> dict[str, Any]:
    return _fault(rt, work, "stop_hangs", p, count=p.count or 1)


def _quota_storm(rt: Runtime, work: Engine, p: Params) -> dict[str, Any]:
    switched = _profile(rt, work, None, True)

    def keys(s: Session) -> list[int]:
        q = select(ApiKey.id).order_by(ApiKey.id)
        if p.account_id is not None:
            if accounts.get_account(s, p.account_id) is None:
                raise invalid("account_id", "names no account")
            q = q.where(ApiKey.account_id == p.account_id)
        return list(s.scalars(q))

    with rt.db.read() as s:
        spent = keys(s)
    # The server clock to the start of the next calendar minute first: the storm then
    # lasts a whole minute, not whatever was left of the current one.
    state.advance_clock(rt, 60.0 - rt.clock.time() % 60.0)
    work.run_due()
    quota.spend_minute(rt, spent)
    return {**switched, "api_key_ids": spent}


def _boot_hang(rt: Runtime, work: Engine, p: Params) -> dict[str, Any]:
    return _fault(rt, work, "boot_stuck", p, count=p.count or 1)


def _out_of_stock(rt: Runtime, work: Engine, p: Params) -> dict[str, Any]:
    return _fault(rt, work, "out_of_stock", p, count=p.count or 1)


def _daily_cap(rt: Runtime, work: Engine, p: Params) -> dict[str, Any]:
    limit = 0 if p.limit is None else p.limit
    return _fault(rt, work, "daily_cap", p, params={"limit": limit})


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "power-wrong-state",
        "another actor (the panel, a second process) sends the instance's opposite power "
        "command now: start if it is stopped, stop if it is running",
        'the client\'s start answers 400 I10016 "This instance is already running.", its '
        'stop 400 I10017 "This instance is already stopped." (A4018 while a slow stop is '
        "still under way)",
        'treat start:I10016 and stop:I10017 as "already there", read the list to confirm, '
        "never retry them in a loop",
        ("instance_id",),
        _wrong_state,
    ),
    Scenario(
        "destroy-while-running",
        "the instance is started if it is stopped, as if a previous stop had not happened",
        'destroy answers 400 I10055 "Instance is in running status. Please stop the '
        'instance before destroying."',
        "stop, poll the list until it shows Stopped, then destroy; retry I10055 with a pause "
        "(a public client retries every 5 s for up to 3 min)",
        ("instance_id",),
        _destroy_while_running,
    ),
    Scenario(
        "provisioning",
        "the faithful profile: a new instance installs for 90 s of server clock",
        "start, stop, firewall assign and takesnapshot answer 400 A4021 while the list "
        'shows READY / "OS installation In Progress"',
        "after createinstance, poll getinstancelist (a few seconds apart, within the quota) "
        "until the instance shows Stopped, then start it",
        (),
        _provisioning,
    ),
    Scenario(
        "mid-command",
        "the faithful profile, and a stop sent to the running instance (it takes 120 s)",
        "while the stop runs the list shows Running; start, stop and reset answer 400 A4018, "
        "destroy 400 I10055",
        "wait for the state the last command leads to before sending the next; retry A4018 "
        "after a pause instead of failing",
        ("instance_id",),
        _mid_command,
    ),
    Scenario(
        "slow-stop",
        "the faithful profile: a stop takes 120 s of server clock",
        'stop answers I10025 (success false, "Shutdown of the instance is initiated...") '
        "and the list keeps showing Running for minutes",
        "treat I10025 as accepted, poll until Stopped for several minutes, and forcestop "
        "if the stop never completes",
        (),
        _slow_stop,
    ),
    Scenario(
        "stop-hangs",
        "the fault stop_hangs for the next `count` stops (default 1)",
        "stop answers I10025 but the instance never stops (the guest ignores the shutdown)",
        "give the stop a time-out, then forcestop",
        ("account_id", "count"),
        _stop_hangs,
    ),
    Scenario(
        "quota-storm",
        "the quota switched on (6 requests per minute per API key), the server clock moved "
        "to the start of the next minute, and that minute of every API key (of "
        "`account_id`, if given) already spent",
        'every call answers the gateway\'s 429 "Too Many Request." (no Retry-After) until '
        "the minute ends (X-Quota-Reset)",
        "on 429 wait until X-Quota-Reset, then go on; pace calls to 6 a minute; never retry "
        "at once",
        ("account_id",),
        _quota_storm,
    ),
    Scenario(
        "boot-hang-after-restore",
        "the fault boot_stuck for the next `count` restores (default 1)",
        "after restoresnapshot and start, the list shows Running but the guest hangs at "
        "the GRUB prompt (seen on the console)",
        "after a restore, check the instance really boots (SSH or ping); if not, forcestop "
        "and start again",
        ("account_id", "count"),
        _boot_hang,
    ),
    Scenario(
        "out-of-stock",
        "the fault out_of_stock for the next `count` createinstance calls (default 1)",
        'createinstance answers 400 I10059 "Out of stock."',
        "report it, retry later or with another plan; never retry in a tight loop",
        ("account_id", "count"),
        _out_of_stock,
    ),
    Scenario(
        "daily-cap",
        "the fault daily_cap with `limit` creations per 24 h (default 0: reached now; the "
        "real service allows about 10)",
        'createinstance answers 400 A4060 "The daily limit of N instance creations has '
        'been reached."',
        "stop creating for the day and say so; do not retry",
        ("account_id", "limit"),
        _daily_cap,
    ),
)

BY_NAME = {s.name: s for s in SCENARIOS}


def run(rt: Runtime, work: Engine, name: str, p: Params) -> dict[str, Any]:
    found = BY_NAME.get(name)
    if found is None:
        raise not_found(SCENARIO_NOT_FOUND, f"No scenario named {name!r}.")
    if found.needs_instance and p.instance_id is None:
        raise missing("instance_id")
    return {"scenario": found.name, **found.setup(rt, work, p)}


# --- routes -----------------------------------------------------------------------------


@router.get("/scenarios", summary="The named race scenarios, with what a robust client does")
def list_scenarios() -> dict[str, Any]:
    return {"total": len(SCENARIOS), "scenarios": [s.as_dict() for s in SCENARIOS]}


@router.post(
    "/scenarios/{name}",
    openapi_extra=body_schema(Params),
    summary="Set up a named race scenario",
)
def post_scenario(
    name: str, request: Request, body: Params = Depends(body_of(Params))
) -> dict[str, Any]:
    return run(runtime(request), engine(request), name, body)
