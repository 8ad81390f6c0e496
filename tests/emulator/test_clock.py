"""The server clock: /_aiiro/clock and /_aiiro/clock/advance."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.testclient import TestClient

from aiiro.config import Settings
from aiiro.runtime import Runtime
from aiiro.serve import build_app
from tests.conftest import Account


def clock(client: TestClient, admin: dict[str, str]) -> dict[str, Any]:
    r = client.get("/_aiiro/clock", headers=admin)
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


def advance(client: TestClient, admin: dict[str, str], seconds: Any) -> Any:
    return client.post("/_aiiro/clock/advance", json={"seconds": seconds}, headers=admin)


def test_clock_shows_server_time_and_offset(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    body = clock(client, admin_headers)
    assert list(body) == ["now", "epoch_ms", "offset_seconds"]
    assert body["offset_seconds"] == 0
    now = datetime.strptime(body["now"], "%Y-%m-%d %H:%M:%S")
    assert abs((datetime.now(UTC).replace(tzinfo=None) - now).total_seconds()) < 5
    assert client.get("/_aiiro/clock").status_code == 401


def test_advance_moves_the_clock_that_the_api_reads(
    client: TestClient, admin_headers: dict[str, str], alice: Account
) -> None:
    before = clock(client, admin_headers)
    r = advance(client, admin_headers, 1800)
    assert r.status_code == 200
    body = r.json()
    assert body["offset_seconds"] == 1800
    assert 1800_000 <= body["epoch_ms"] - before["epoch_ms"] < 1810_000
    assert body["ran"] == 0  # nothing was waiting
    # The token (3599 s) still works half an hour on, and no longer once the hour is past.
    assert alice.get("/webarenaIndigo/v1/vm/sshkey").status_code == 200
    advance(client, admin_headers, 1800)
    r = alice.get("/webarenaIndigo/v1/vm/sshkey")
    assert r.status_code == 401 and r.json()["errorMessage"] == "Invalid access token."


def test_advance_accepts_a_string_number_and_fractions(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    r = client.post("/_aiiro/clock/advance", content='{"seconds":"2.5"}', headers=admin_headers)
    assert r.status_code == 200 and r.json()["offset_seconds"] == 2.5


def test_the_clock_only_moves_forward(client: TestClient, admin_headers: dict[str, str]) -> None:
    for bad in (-1, "soon", None, 1e12, "nan"):
        r = advance(client, admin_headers, bad)
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["success"] is False and r.json()["errorCode"] in ("A4001", "A4002")
    r = client.post("/_aiiro/clock/advance", content="{", headers=admin_headers)
    assert r.status_code == 400 and r.json()["errorCode"] == "A4000"
    assert clock(client, admin_headers)["offset_seconds"] == 0


def test_advance_runs_what_fell_due_before_answering(
    app: Any, client: TestClient, admin_headers: dict[str, str], rt: Runtime
) -> None:
    seen: list[datetime] = []

    class Engine:
        threaded = False

        def run_due(self) -> int:
            seen.append(rt.clock.now())
            return 3

    app.state.engine = Engine()
    before = rt.clock.now()
    r = advance(client, admin_headers, 120)
    assert r.json()["ran"] == 3
    assert len(seen) == 1 and (seen[0] - before).total_seconds() >= 120


def test_the_offset_survives_a_restart(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
) -> None:
    advance(client, admin_headers, 7200)
    again = build_app(settings)
    try:
        assert again.state.runtime.clock.offset == 7200
    finally:
        again.state.runtime.db.dispose()
