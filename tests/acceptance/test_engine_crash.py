"""A real `aiiro serve` killed with SIGKILL while operations are in flight: after a
restart every due and overdue operation runs, none is lost and none runs twice (a claim
the dead process held is taken back when its lease runs out: 2 s here).
Also: the seed walkthrough up to "instance becomes Running" against `aiiro serve`."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, create_engine, text

from tests.acceptance.server import AiiroServer
from tests.api.keygen import rsa_public

pytestmark = pytest.mark.acceptance
SEED = Path(__file__).resolve().parents[3] / "shared" / "acceptance" / "seed-walkthrough.sh"
WAIT_S = 30.0
LEASE = {"AIIRO_OPERATION_LEASE_S": "2"}


class Api:
    def __init__(self, server: AiiroServer) -> None:
        key, secret = server.credentials()
        self.http = httpx.Client(base_url=server.base_url, timeout=10)
        r = self.http.post(
            "/oauth/v1/accesstokens",
            json={"grantType": "client_credentials", "clientId": key, "clientSecret": secret},
        )
        assert r.status_code == 201, r.text
        self.http.headers["Authorization"] = f"Bearer {r.json()['accessToken']}"

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        # No Content-Type, as the seed's curl sends it.
        return self.http.post(f"/webarenaIndigo/v1/vm/{path}", content=json.dumps(body))

    def shown(self) -> dict[int, str]:
        r = self.http.get("/webarenaIndigo/v1/vm/getinstancelist")
        assert r.status_code == 200, r.text
        return {i["id"]: i["instancestatus"] for i in r.json()}

    def wait_for(self, ids: list[int], text: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            shown = self.shown()
            if all(shown.get(i) == text for i in ids):
                return
            time.sleep(0.1)
        raise AssertionError(f"not all {text}: {self.shown()}")


@contextmanager
def db(server: AiiroServer) -> Iterator[Connection]:
    """The server's store, in one transaction."""
    engine = create_engine(server.database_url or f"sqlite:///{server.data_dir / 'aiiro.db'}")
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def test_kill_9_with_operations_in_flight(aiiro_server: AiiroServer, tmp_path: Path) -> None:
    server = aiiro_server
    server.start("--profile", "fast", "--write-secret", tmp_path / "secret", env=LEASE)
    api = Api(server)
    r = api.post("sshkey", {"sshName": "k", "sshKey": rsa_public()})
    key = r.json()["sshKey"]["id"]
    ids = []
    for n in range(4):
        r = api.post(
            "createinstance",
            {
                "sshKeyId": key,
                "regionId": 1,
                "osId": 22,
                "instancePlan": 1,
                "instanceName": f"c{n}",
            },
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["vms"]["id"])
    dead_pid = server.process.pid  # type: ignore[union-attr]
    server.kill()

    with db(server) as conn:
        states = conn.execute(text("SELECT kind, state FROM operations ORDER BY id")).all()
        # Durable before the answer; the one the worker was at may be left `running`.
        assert [k for k, _ in states] == ["provision"] * 4
        assert {s for _, s in states} <= {"pending", "running"}
        # As if the process had died in the middle of running one of them.
        conn.execute(
            text(
                "UPDATE operations SET state='running', claimed_by=:by, claimed_at=created_at, "
                "lease_until=:lease, attempts=1 WHERE instance_id=:id"
            ),
            {"by": f"{socket.gethostname()}:{dead_pid}:1", "lease": time.time() + 1, "id": ids[0]},
        )
        # A minute passes while the server is down: everything is overdue on restart.
        offset = conn.execute(text("SELECT value FROM kv WHERE key='clock_offset'")).first()
        now = float(offset[0]) if offset else 0.0
        conn.execute(text("DELETE FROM kv WHERE key='clock_offset'"))
        conn.execute(
            text("INSERT INTO kv(key, value) VALUES ('clock_offset', :v)"), {"v": repr(now + 60)}
        )

    server.start("--profile", "fast", env=LEASE)
    api.http.base_url = httpx.URL(server.base_url)  # a new port; the token still works
    api.wait_for(ids, "Stopped")

    # Now a stop in flight: start one, stop it, kill at once, restart.
    assert (
        api.post("instance/statusupdate", {"instanceId": ids[1], "status": "start"}).json()[
            "sucessCode"
        ]
        == "I20008"
    )
    api.wait_for([ids[1]], "Running")
    r = api.post("instance/statusupdate", {"instanceId": str(ids[1]), "status": "stop"})
    assert r.json()["sucessCode"] == "I10025"
    server.kill()
    server.start("--profile", "fast", env=LEASE)
    api.http.base_url = httpx.URL(server.base_url)
    api.wait_for([ids[1]], "Stopped")
    server.stop()

    with db(server) as conn:
        ops = conn.execute(text("SELECT instance_id, kind, state FROM operations")).all()
        assert {state for _, _, state in ops} == {"done"}
        kinds = sorted((i, k) for i, k, _ in ops)
        assert kinds == sorted(
            [(i, "provision") for i in ids] + [(ids[1], "start"), (ids[1], "stop")]
        )
        rows = conn.execute(text("SELECT id, driver_state, started_at FROM instances")).all()
    boots = {i: json.loads(state)["boots"] for i, state, _ in rows}
    # One installation boot each, plus the one start: nothing ran twice.
    assert boots == {i: (2 if i == ids[1] else 1) for i in ids}
    for _, state, started in rows:
        console = "".join(text for _, _, text in json.loads(state)["console"]["lines"])
        assert console.count("Installing ") == 1 and started


@pytest.mark.skipif(not SEED.exists(), reason=f"the seed walkthrough is not at {SEED}")
def test_seed_walkthrough_until_running(aiiro_server: AiiroServer, tmp_path: Path) -> None:
    for tool in ("jq", "ssh-keygen"):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            pytest.skip(f"{tool} is not installed")
    aiiro_server.start("--profile", "fast", "--write-secret", tmp_path / "secret")
    run = subprocess.run(
        ["bash", str(SEED)],
        env={**aiiro_server.client_env(), "WAIT_S": "30"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    steps = [line for line in run.stdout.splitlines() if line.startswith(("ok", "FAIL"))]
    names = [line.split(" - ", 1)[1] for line in steps]
    assert "instance becomes Running" in names, run.stdout
    upto = steps[: names.index("instance becomes Running") + 1]
    assert all(line.startswith("ok") for line in upto), run.stdout + run.stderr
    assert len(upto) == 13
