"""Helpers for instance tests: a registered key, create, list, commands, the clock."""

from __future__ import annotations

import time
from typing import Any

import httpx

from aiiro import timing
from aiiro.clock import Clock
from aiiro.emulator import state
from aiiro.engine.worker import Engine
from aiiro.runtime import Runtime
from tests.api.keygen import rsa_public
from tests.conftest import Account

REGION = 1
DEBIAN12 = 22
UBUNTU22 = 13
WINDOWS2022 = 11
IMPORT_OS = 3
PLAN_DUAL = 1  # 1CR1GB, ipv46dual
PLAN_IPV6 = 13  # 1CR768MB, ipv6
PLAN_WIN = 7  # 2CR1GB, ipv4 (Windows)
STATUSUPDATE = "/webarenaIndigo/v1/vm/instance/statusupdate"
CREATE = "/webarenaIndigo/v1/vm/createinstance"
LIST = "/webarenaIndigo/v1/vm/getinstancelist"
WIN_PASSWORD = "Test#2345jh"  # the documentation's example


class FrozenClock(Clock):
    """Real time stands still (at `base`, or when made); only `advance` moves this clock."""

    def __init__(self, base: float | None = None) -> None:
        super().__init__()
        self._base = time.time() if base is None else base

    def time(self) -> float:
        return self._base + self.offset


def register_key(acct: Account, name: str = "testkey") -> int:
    r = acct.post("/webarenaIndigo/v1/vm/sshkey", {"sshName": name, "sshKey": rsa_public()})
    assert r.status_code == 201, r.text
    key_id: int = r.json()["sshKey"]["id"]
    return key_id


def create(acct: Account, key_id: int | None, name: str = "web", **body: Any) -> httpx.Response:
    data: dict[str, Any] = {
        "sshKeyId": key_id,
        "regionId": REGION,
        "osId": DEBIAN12,
        "instancePlan": PLAN_IPV6,
        "instanceName": name,
    }
    data.update(body)
    return acct.post(CREATE, {k: v for k, v in data.items() if v is not None})


def create_id(acct: Account, key_id: int | None, name: str = "web", **body: Any) -> int:
    r = create(acct, key_id, name, **body)
    assert r.status_code == 201, r.text
    instance_id: int = r.json()["vms"]["id"]
    return instance_id


def listing(acct: Account) -> list[dict[str, Any]]:
    r = acct.get(LIST)
    assert r.status_code == 200, r.text
    body: list[dict[str, Any]] = r.json()
    return body


def listed(acct: Account, instance_id: int) -> dict[str, Any] | None:
    return next((i for i in listing(acct) if i["id"] == instance_id), None)


def shown(acct: Account, instance_id: int) -> str | None:
    item = listed(acct, instance_id)
    return None if item is None else item["instancestatus"]


def command(acct: Account, instance_id: int | str, status: str) -> httpx.Response:
    return acct.post(STATUSUPDATE, {"instanceId": str(instance_id), "status": status})


def use_profile(engine: Engine, name: str) -> timing.Timings:
    """Switch the timing profile as the emulator control does (waiting steps re-timed)."""
    return state.switch(engine.rt, engine, name, None)


def advance(rt: Runtime, seconds: float) -> None:
    """Move the server clock; the next API call runs what fell due (no worker thread)."""
    rt.clock.advance(seconds)
