"""Property: random sequences of creates, commands, faults and clock moves never bring an
instance into an illegal state, and every answer is a documented one, the one the
lifecycle table prescribes for the state the instance was in (the hand-written copy in
tests/lifecycle_table.py, not domain/lifecycle.py's own)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from starlette.testclient import TestClient

from aiiro.config import Settings
from aiiro.emulator.reset import reset_state
from aiiro.engine.worker import Engine
from aiiro.serve import build_app
from aiiro.store.models import Instance, Operation
from tests.api.instance_helpers import (
    IMPORT_OS,
    PLAN_DUAL,
    PLAN_IPV6,
    FrozenClock,
    command,
    create,
    listing,
    register_key,
)
from tests.conftest import make_account
from tests.lifecycle_table import COMMANDS, SHOWN, SUCCESS, TABLE, expected

DOCUMENTED = {
    *SUCCESS.values(),
    *((400, code) for code in ("I10016", "I10017", "I10018", "I10055", "A4018", "A4019", "A4021")),
    (404, "A4043"),
}
LEGAL = {
    ("READY", "OS installation In Progress"),
    ("READY", "The URL entered is invalid."),
    ("OPEN", "Stopped"),
    ("OPEN", "Running"),
}
LIFECYCLE_KINDS = ("provision", "start", "stop", "forcestop", "reset", "destroy")


def test_random_command_sequences(tmp_path: Path, database_url: str, engine: Engine) -> None:
    app = build_app(
        Settings(
            data_dir=tmp_path,
            database_url=database_url,
            profile="fast",
            admin_token="stateful-admin-token",
            worker=False,
        )
    )
    rt = app.state.runtime
    # Only the test moves time: what happens must not depend on how fast the machine is
    # (hypothesis replays examples and wants the same outcome each time).
    rt.clock = FrozenClock()
    with TestClient(app, base_url="http://aiiro.test") as client:
        acct = make_account(rt, client, "Prop Erty")

        class Lifecycle(RuleBasedStateMachine):
            instances = Bundle("instances")

            def __init__(self) -> None:
                super().__init__()
                with rt.db.write() as s:
                    reset_state(rt, s)
                rt.clock.set_offset(0.0)
                rt.settings.profile = rt.profile = "fast"
                self.key = register_key(acct)

            @rule(target=instances, plan=st.sampled_from([PLAN_DUAL, PLAN_IPV6]))
            def create_linux(self, plan: int) -> int:
                r = create(acct, self.key, instancePlan=plan)
                assert r.status_code == 201, r.text
                instance_id: int = r.json()["vms"]["id"]
                return instance_id

            @rule(target=instances, good=st.booleans())
            def create_import(self, good: bool) -> int:
                url = "https://example.com/a.qcow2" if good else "https://nope.invalid/a"
                r = create(acct, None, osId=IMPORT_OS, instancePlan=PLAN_DUAL, importUrl=url)
                assert r.status_code == 201, r.text
                instance_id: int = r.json()["vms"]["id"]
                return instance_id

            @rule(instance_id=instances, cmd=st.sampled_from(COMMANDS))
            def send(self, instance_id: int, cmd: str) -> None:
                engine.run_due()
                with rt.db.read() as s:
                    inst = s.get(Instance, instance_id)
                    before = None if inst is None or inst.removed_at else inst.power
                r = command(acct, instance_id, cmd)
                body = r.json()
                code = body.get("sucessCode") or body.get("errorCode")
                assert (r.status_code, code) in DOCUMENTED, r.text
                if before is None:
                    assert (r.status_code, code) == (404, "A4043")
                    return
                _to, status, want = expected(before, cmd)
                assert (r.status_code, code) == (status, want), (before, cmd, r.text)

            @rule(instance_id=instances)
            def hang_the_next_stop(self, instance_id: int) -> None:
                r = client.post(
                    "/_aiiro/faults",
                    json={"operation": "stop", "action": "stop_hangs", "count": 1},
                    headers={"Authorization": "Bearer stateful-admin-token"},
                )
                assert r.status_code in (200, 201), r.text

            @rule(seconds=st.sampled_from([0.1, 0.5, 1.0, 2.0, 5.0, 40.0]))
            def tick(self, seconds: float) -> None:
                rt.clock.advance(seconds)

            @invariant()
            def every_instance_is_in_a_legal_state(self) -> None:
                for item in listing(acct):
                    text = item["instancestatus"]
                    if text.startswith("Disk image download in-progress"):
                        text = "OS installation In Progress"
                    assert (item["status"], text) in LEGAL, item
                    assert item["otherstatus"] == (10 if item["status"] == "READY" else 20)
                    assert (item["ip"] == "") == (item["status"] == "READY")
                with rt.db.read() as s:
                    for inst in s.scalars(select(Instance)):
                        assert inst.power in TABLE
                        if inst.power != "destroying":  # that keeps the status it had
                            assert inst.status == SHOWN[inst.power][0]
                    per_instance = s.execute(
                        select(Operation.instance_id, func.count())
                        .where(
                            Operation.state.in_(("pending", "running")),
                            Operation.kind.in_(LIFECYCLE_KINDS),
                        )
                        .group_by(Operation.instance_id)
                    ).all()
                    # A newer command cancels what it makes moot: at most a forcestop
                    # and what was asked after it wait.
                    assert all(n <= 2 for _, n in per_instance), per_instance
                    # The driver never raises here: the only failures are installations
                    # the driver reports failed (a bad import URL), never provisioned.
                    failed = s.execute(
                        select(Operation.kind, Instance.status)
                        .join(Instance, Instance.id == Operation.instance_id)
                        .where(Operation.state == "failed")
                    ).all()
                    assert all(row == ("provision", "READY") for row in failed), failed

        run_state_machine_as_test(
            Lifecycle,
            settings=settings(
                max_examples=30,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
    rt.db.dispose()
