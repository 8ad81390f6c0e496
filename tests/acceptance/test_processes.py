"""Several processes act as one aiiro: three `aiiro serve --no-engine` and two (then
three) `aiiro worker` on one PostgreSQL database.

Every emulator control made through one API process holds in the others on their next
request; the Indigo lifecycle, the quota and fault rules behave as with one process; a
worker killed with SIGKILL in the middle of provisioning, and of a stop, is taken over
by the others within its lease, and every operation is done exactly once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.acceptance.server import ADMIN_TOKEN, AiiroServer
from tests.api.keygen import rsa_public

pytestmark = [pytest.mark.acceptance, pytest.mark.postgresql_only]
WAIT_S = 40.0
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class Fleet:
    """The processes, and clients for each API process."""

    def __init__(self, root: Path, database_url: str) -> None:
        self.env = {
            "AIIRO_DATABASE_URL": database_url,
            "AIIRO_PROFILE": "fast",
            "AIIRO_OPERATION_LEASE_S": "2",
            "AIIRO_LOG_LEVEL": "warning",
        }
        self.data = root / "data"
        self.secret = root / "secret"
        self.apis: list[AiiroServer] = []
        self.workers: list[AiiroServer] = []
        self.http: list[httpx.Client] = []

    def serve(self, n: int) -> None:
        for i in range(n):
            server = AiiroServer(self.data, env=self.env, name=f"api{i}")
            server.start("--no-engine", "--write-secret", self.secret)
            self.apis.append(server)
            self.http.append(httpx.Client(base_url=server.base_url, timeout=15))

    def worker(self) -> AiiroServer:
        worker = AiiroServer(
            self.data, env=self.env, command="worker", name=f"worker{len(self.workers)}"
        )
        worker.start()
        self.workers.append(worker)
        return worker

    def sign_in(self, key: str, secret: str) -> None:
        r = self.http[0].post(
            "/oauth/v1/accesstokens",
            json={"grantType": "client_credentials", "clientId": key, "clientSecret": secret},
        )
        assert r.status_code == 201, r.text
        for client in self.http:
            client.headers["Authorization"] = f"Bearer {r.json()['accessToken']}"

    def close(self) -> None:
        for client in self.http:
            client.close()
        for process in [*self.apis, *self.workers]:
            process.kill()

    # --- the Indigo API through API process `p` ----------------------------------------
    def post(self, p: int, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.http[p].post(f"/webarenaIndigo/v1/vm/{path}", content=json.dumps(body))

    def shown(self, p: int) -> dict[int, str]:
        r = self.http[p].get("/webarenaIndigo/v1/vm/getinstancelist")
        assert r.status_code == 200, r.text
        return {i["id"]: i["instancestatus"] for i in r.json()}

    def wait_for(self, ids: list[int], status: str) -> None:
        deadline = time.monotonic() + WAIT_S
        p = 0
        while time.monotonic() < deadline:
            p = (p + 1) % len(self.http)  # each API process in turn
            if all(self.shown(p).get(i) == status for i in ids):
                return
            time.sleep(0.1)
        raise AssertionError(f"not all {status}: {self.shown(0)}")

    def admin(self, p: int, method: str, path: str, body: Any = None) -> Any:
        r = self.http[p].request(method, f"/_aiiro/{path}", headers=ADMIN, json=body)
        assert r.status_code in (200, 201), r.text
        return r.json()


@pytest.fixture
def fleet(tmp_path: Path, database_url: str) -> Iterator[Fleet]:
    fleet = Fleet(tmp_path, database_url)
    try:
        yield fleet
    finally:
        fleet.close()


def create(fleet: Fleet, p: int, key: int, name: str) -> int:
    r = fleet.post(
        p,
        "createinstance",
        {"sshKeyId": key, "regionId": 1, "osId": 22, "instancePlan": 1, "instanceName": name},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["vms"]["id"])


def test_three_api_processes_and_workers_act_as_one(fleet: Fleet, database_url: str) -> None:
    fleet.serve(3)
    workers = [fleet.worker(), fleet.worker()]

    # --- every emulator control agrees across the API processes -------------------------
    moved = fleet.admin(1, "POST", "clock/advance", {"seconds": 3600})
    assert moved["offset_seconds"] >= 3600
    offsets = {fleet.admin(n % 3, "GET", "clock")["offset_seconds"] for n in range(12)}
    assert offsets == {moved["offset_seconds"]}

    fleet.admin(2, "PUT", "profile", {"profile": "instant"})
    assert {fleet.admin(n, "GET", "profile")["profile"] for n in range(3)} == {"instant"}
    fleet.admin(0, "PUT", "profile", {"profile": "fast"})
    assert {fleet.admin(n, "GET", "profile")["profile"] for n in range(3)} == {"fast"}

    fleet.admin(0, "POST", "seed", {"seed": 77})
    assert {fleet.admin(n, "GET", "seed")["seed"] for n in range(3)} == {77}
    fleet.admin(1, "POST", "seed", {"seed": None})

    # --- the lifecycle, run by the workers, seen the same way through each process -------
    fleet.sign_in(*fleet.apis[0].credentials())  # after the hour passed: tokens last 3599 s
    r = fleet.post(0, "sshkey", {"sshName": "k", "sshKey": rsa_public()})
    assert r.status_code == 201, r.text
    key = r.json()["sshKey"]["id"]
    first = create(fleet, 1, key, "one")
    fleet.wait_for([first], "Stopped")
    r = fleet.post(2, "instance/statusupdate", {"instanceId": first, "status": "start"})
    assert r.json()["sucessCode"] == "I20008"
    fleet.wait_for([first], "Running")

    # --- a fault rule added through one process strikes in another, once ----------------
    fleet.admin(0, "POST", "faults", {"action": "out_of_stock", "count": 1})
    r = fleet.post(1, "createinstance", {"sshKeyId": key, "regionId": 1, "osId": 22,
                                         "instancePlan": 1, "instanceName": "no"})  # fmt: skip
    assert r.status_code == 400 and r.json()["errorCode"] == "I10059", r.text

    # --- the request log holds the requests of every process --------------------------
    def logged() -> list[str]:
        entries = fleet.admin(2, "GET", "requests?limit=1000")["requests"]
        return [e["path"] for e in entries if e["path"].startswith("/webarenaIndigo/")]

    deadline = time.monotonic() + 5  # each process writes its log behind its answers
    while logged().count("/webarenaIndigo/v1/vm/createinstance") < 2:
        assert time.monotonic() < deadline, logged()
        time.sleep(0.1)
    assert "/webarenaIndigo/v1/vm/sshkey" in logged()
    assert logged().count("/webarenaIndigo/v1/vm/createinstance") == 2

    # --- SIGKILL a worker in the middle of provisioning --------------------------------
    ids = [create(fleet, n % 3, key, f"p{n}") for n in range(6)]
    victim = workers[0]
    dead = worker_id(victim)
    victim.kill()
    admin = create_engine(database_url)
    with admin.begin() as conn:
        # As if it had died inside a run: one provisioning it held, its lease not over.
        held = conn.execute(
            text(
                "UPDATE operations SET state='running', claimed_by=:w, claimed_at=created_at, "
                "lease_until=:lease, attempts=attempts+1 WHERE id = (SELECT min(id) FROM "
                "operations WHERE kind='provision' AND state='pending') RETURNING id"
            ),
            {"w": dead, "lease": time.time() + 1.5},
        ).scalar_one()
    fleet.wait_for(ids, "Stopped")
    fleet.worker()

    # --- and in the middle of a stop ---------------------------------------------------
    r = fleet.post(0, "instance/statusupdate", {"instanceId": str(first), "status": "stop"})
    assert r.json()["sucessCode"] == "I10025"
    workers[1].kill()
    fleet.wait_for([first], "Stopped")

    # --- the quota counts each key's requests through every process -------------------
    fleet.admin(1, "PUT", "profile", {"quota": True})
    second = fleet.admin(0, "GET", "clock")["epoch_ms"] / 1000 % 60
    if second > 50:  # all seven requests in one calendar minute of the server clock
        time.sleep(61 - second)
    answers = [fleet.http[n % 3].get("/webarenaIndigo/v1/vm/sshkey").status_code for n in range(7)]
    assert answers == [200] * 6 + [429]
    fleet.admin(2, "PUT", "profile", {"quota": False})
    assert fleet.http[0].get("/webarenaIndigo/v1/vm/sshkey").status_code == 200

    # --- every operation done exactly once -----------------------------------------
    with admin.begin() as conn:
        ops = conn.execute(text("SELECT instance_id, kind, state FROM operations")).all()
        rows = conn.execute(text("SELECT id, driver_state FROM instances")).all()
        taken_over = conn.execute(
            text("SELECT claimed_by, state FROM operations WHERE id = :id"), {"id": held}
        ).one()
    admin.dispose()
    assert taken_over == (None, "done")  # run by another worker once the lease ran out
    assert {state for _, _, state in ops} == {"done"}
    expected = [(i, "provision") for i in [first, *ids]]
    expected += [(first, "start"), (first, "stop")]
    assert sorted((i, k) for i, k, _ in ops) == sorted(expected)
    boots = {i: json.loads(state)["boots"] for i, state in rows}
    assert boots == {i: (2 if i == first else 1) for i in [first, *ids]}
    for _, state in rows:
        console = "".join(line for _, _, line in json.loads(state)["console"]["lines"])
        assert console.count("Installing ") == 1


def worker_id(worker: AiiroServer) -> str:
    """The claim name a worker printed on start ("aiiro worker host:pid:ns: running...")."""
    line = next(s for s in worker.output().splitlines() if s.startswith("aiiro worker "))
    return line.removeprefix("aiiro worker ").split(": running", 1)[0]
