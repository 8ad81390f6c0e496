"""The seed: /_aiiro/seed makes generated values reproducible."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from aiiro.config import Settings
from aiiro.serve import build_app

ADMIN = {"Authorization": "Bearer test-admin-token"}


# A server's data dir and store: a server started again on the same one is a restart.
Place = tuple[Path, str]


@pytest.fixture
def place(tmp_path: Path, new_database_url: Callable[[], str]) -> Callable[[str], Place]:
    """The place of the server called `name` (a new one for each new name)."""
    made: dict[str, Place] = {}

    def of(name: str) -> Place:
        if name not in made:
            made[name] = (tmp_path / name, new_database_url())
        return made[name]

    return of


def settings_for(where: Place, seed: int | None = None) -> Settings:
    return Settings(
        data_dir=where[0],
        database_url=where[1],
        profile="instant",
        admin_token="test-admin-token",
        worker=False,
        seed=seed,
    )


def generated(client: TestClient) -> list[str]:
    """Values a user sees that aiiro generates: API key pairs. (Tokens are not among them:
    a token is signed with the server's key and carries the time it was issued.)"""
    made = client.post("/_aiiro/accounts", json={"name": "Dana"}, headers=ADMIN).json()
    r = client.post(
        "/oauth/v1/accesstokens",
        content=json.dumps({"clientId": made["apiKey"], "clientSecret": made["apiSecret"]}),
    )
    assert r.status_code == 201, r.text
    token = r.json()["accessToken"]
    r = client.get(
        "/webarenaIndigo/v1/auth/create/apikey", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 201, r.text
    more = r.json()
    return [made["apiKey"], made["apiSecret"], more["apiKey"], more["apiSecret"]]


def run(where: Place, steps: Any, seed: int | None = None) -> Any:
    app = build_app(settings_for(where, seed))
    try:
        with TestClient(app, base_url="http://aiiro.test") as client:
            return steps(client)
    finally:
        app.state.runtime.db.dispose()


def seeded(seed: int) -> Any:
    def steps(client: TestClient) -> list[str]:
        r = client.post("/_aiiro/seed", json={"seed": seed}, headers=ADMIN)
        assert r.status_code == 200 and r.json()["seed"] == seed
        return generated(client)

    return steps


def test_same_seed_same_values_on_two_servers(place: Callable[[str], Place]) -> None:
    first = run(place("a"), seeded(42))
    second = run(place("b"), seeded(42))
    other = run(place("c"), seeded(43))
    assert first == second
    assert set(first).isdisjoint(other)


def test_unseeded_servers_differ(place: Callable[[str], Place]) -> None:
    assert set(run(place("a"), generated)).isdisjoint(run(place("b"), generated))


def test_seed_null_goes_back_to_unpredictable_values(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    assert client.get("/_aiiro/seed", headers=admin_headers).json() == {"seed": None}
    client.post("/_aiiro/seed", json={"seed": 5}, headers=admin_headers)
    assert client.get("/_aiiro/seed", headers=admin_headers).json() == {"seed": 5}
    r = client.post("/_aiiro/seed", json={"seed": None}, headers=admin_headers)
    assert r.status_code == 200 and r.json()["seed"] is None
    assert client.get("/_aiiro/seed", headers=admin_headers).json() == {"seed": None}


def test_bad_seeds_are_400(client: TestClient, admin_headers: dict[str, str]) -> None:
    for body in ({}, {"seed": "x"}, {"seed": 1.5}, {"seed": 2**70}):
        r = client.post("/_aiiro/seed", json=body, headers=admin_headers)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["errorCode"] in ("A4001", "A4002")
    assert client.post("/_aiiro/seed", json={"seed": 1}).status_code == 401


def test_reseeding_one_server_never_hands_out_a_value_twice(place: Callable[[str], Place]) -> None:
    """Keys and tokens survive a reset, so the same seed twice must not replay them."""

    def twice(client: TestClient) -> list[str]:
        return seeded(42)(client) + seeded(42)(client)

    values = run(place("a"), twice)
    assert len(set(values)) == len(values)
    assert values == run(place("b"), twice)  # and still reproducible


def test_seed_survives_a_restart_deterministically(place: Callable[[str], Place]) -> None:
    def history(name: str) -> list[str]:
        where = place(name)
        before = run(where, seeded(9))
        after = run(where, generated)  # a restart: the seed is still in force
        seed = run(where, lambda c: c.get("/_aiiro/seed", headers=ADMIN).json()["seed"])
        assert seed == 9
        return before + after

    first = history("a")
    assert len(set(first)) == len(first)
    assert first == history("b")


def test_aiiro_seed_setting_is_in_force_from_the_start(place: Callable[[str], Place]) -> None:
    first = run(place("a"), generated, seed=11)
    assert first == run(place("b"), generated, seed=11)
    assert run(place("c"), lambda c: c.get("/_aiiro/seed", headers=ADMIN).json(), 11) == {
        "seed": 11
    }
