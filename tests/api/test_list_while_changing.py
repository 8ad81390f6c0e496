"""getinstancelist polled while instances change: each answer is, byte for byte, the list
rendered afresh from the store, though only the instances that changed are rendered again
(their items are kept by row: api/instances.py `listed_item`); also with two runtimes (two
processes' worth of caches) on one database, one changing what the other lists."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from aiiro.api import instances as api_instances
from aiiro.api import render
from aiiro.config import Settings
from aiiro.engine.worker import Engine
from aiiro.runtime import Runtime
from aiiro.serve import build_app
from aiiro.store.models import Instance
from tests.api.instance_helpers import (
    LIST,
    PLAN_DUAL,
    PLAN_WIN,
    WIN_PASSWORD,
    WINDOWS2022,
    advance,
    command,
    create_id,
    register_key,
    use_profile,
)
from tests.conftest import Account

RENDER = api_instances.listed_json


def afresh(rt: Runtime, acct: Account, name: str) -> bytes:
    """The list as rendered without any cache: every instance through the ORM, the
    whole list through php_json."""
    with rt.db.read() as s:
        rows = s.scalars(
            select(Instance)
            .where(Instance.account_id == acct.id, Instance.removed_at.is_(None))
            .order_by(Instance.id.desc())
        ).all()
        return render.php_json([RENDER(rt, i, name) for i in rows])


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ids of the instances the API renders (not taken from the cache)."""
    seen: list[int] = []

    def counted(rt: Runtime, inst: Any, account_name: str) -> dict[str, Any]:
        seen.append(inst.id)
        return RENDER(rt, inst, account_name)

    monkeypatch.setattr(api_instances, "listed_json", counted)
    return seen


def polled(acct: Account) -> bytes:
    r = acct.get(LIST)
    assert r.status_code == 200, r.text
    return r.content


def listed_ids(acct: Account) -> list[int]:
    return [item["id"] for item in json.loads(polled(acct))]


def test_a_poll_during_a_lifecycle_is_the_list_rendered_afresh(
    alice: Account, rt: Runtime, engine: Engine, renders: list[int]
) -> None:
    t = use_profile(engine, "faithful")  # no step ends by itself while the test runs
    key = register_key(alice)
    a = create_id(alice, key, "a/1", instancePlan=PLAN_DUAL)  # a slash: escaped as \/
    b = create_id(alice, key, "b")
    w = create_id(alice, None, "ウィンドウズ", osId=WINDOWS2022, instancePlan=PLAN_WIN,
                  winPassword=WIN_PASSWORD)  # fmt: skip
    name = "Alice Example"

    def step(change: Callable[[], None], rendered: list[int]) -> None:
        change()
        renders.clear()
        assert polled(alice) == afresh(rt, alice, name)
        assert renders == rendered
        renders.clear()
        assert polled(alice) == afresh(rt, alice, name)
        assert renders == []  # nothing changed: nothing rendered again

    step(lambda: None, [w, b, a])  # the first poll renders all three
    step(lambda: advance(rt, t.install_s), [w, b, a])  # all installed
    step(lambda: command(alice, b, "start"), [b])  # Running
    step(lambda: command(alice, b, "stop"), [b])  # still Running while it shuts down
    step(lambda: advance(rt, t.stop_s), [b])  # Stopped
    step(lambda: command(alice, a, "destroy"), [a])  # listed with its closed_at
    step(lambda: advance(rt, t.removal_s), [])  # gone from the list: nothing to render
    assert listed_ids(alice) == [w, b]


def test_kept_items_are_bounded(alice: Account, rt: Runtime, renders: list[int]) -> None:
    key = register_key(alice)
    ids = [create_id(alice, key, f"n{i}") for i in range(3)]
    rt.fragments.max_entries = 2
    assert polled(alice) == afresh(rt, alice, "Alice Example")
    assert len(rt.fragments) == 2 and renders == ids[::-1]
    # The byte bound: room for one item (each about 1 KB, and its key counted as 1 KB).
    rt.fragments.clear()
    rt.fragments.max_entries, rt.fragments.max_bytes = 100, 3000
    assert command(alice, ids[0], "start").status_code == 200  # the list is rendered again
    assert polled(alice) == afresh(rt, alice, "Alice Example")
    assert len(rt.fragments) == 1 and rt.fragments.weight <= 3000


@pytest.fixture
def other(settings: Settings, client: TestClient) -> Iterator[TestClient]:
    """A second runtime on the same database: as another process of the server."""
    app = build_app(settings)
    with TestClient(app, base_url="http://aiiro.test") as c:
        yield c
    app.state.runtime.db.dispose()


def test_a_change_made_through_another_process_is_listed(
    alice: Account,
    rt: Runtime,
    client: TestClient,
    other: TestClient,
    admin_headers: dict[str, str],
) -> None:
    there = dataclasses.replace(alice, http=other)
    here_rt: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    there_rt: Runtime = other.app.state.runtime  # type: ignore[attr-defined]
    assert there_rt is not here_rt
    r = client.put("/_aiiro/profile", json={"profile": "faithful"}, headers=admin_headers)
    assert r.status_code == 200, r.text
    key = register_key(alice)
    a = create_id(alice, key, "a")
    b = create_id(there, key, "b")
    name = "Alice Example"

    def both_agree() -> None:
        expected = afresh(rt, alice, name)
        assert polled(alice) == expected
        assert polled(there) == expected

    def advance_clock(seconds: float) -> None:
        r = client.post("/_aiiro/clock/advance", json={"seconds": seconds}, headers=admin_headers)
        assert r.status_code == 200, r.text

    both_agree()  # both installing; each process keeps its own items
    advance_clock(120)
    both_agree()  # both Stopped
    assert command(there, a, "start").status_code == 200
    both_agree()
    assert b'"instancestatus":"Running"' in polled(alice)
    assert command(alice, a, "forcestop").status_code == 200
    assert command(alice, a, "destroy").status_code == 200
    both_agree()
    assert command(there, b, "start").status_code == 200
    advance_clock(120)  # a removed; b Running
    both_agree()
    assert listed_ids(there) == [b]
