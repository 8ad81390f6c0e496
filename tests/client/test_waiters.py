"""Waiters and idempotent helpers on a scripted API: the answers real Indigo gives that
aiiro's instant profile never shows (an instance that reports Stopped while the API says
it is already running, an import that fails, a stop that never finishes)."""

from __future__ import annotations

import json

import pytest

from aiiro.client import IndigoError, StateError, WaitTimeout
from aiiro.client_core.config import Places
from aiiro.client_core.policy import Http, Reply
from tests.client.fake import FakeIndigo, reply

VM = "/webarenaIndigo/v1/vm"
STATUS = f"{VM}/instance/statusupdate"


def listing(status: str, lifecycle: str = "OPEN") -> tuple[int, str]:
    return 200, json.dumps(
        [{"id": 7, "instance_name": "web1", "status": lifecycle, "instancestatus": status}]
    )


def already(code: str, text: str) -> tuple[int, str]:
    return 400, json.dumps({"success": False, "errorMessage": text, "errorCode": code})


def test_ensure_running_takes_i10016_as_success(fake: FakeIndigo, places: Places) -> None:
    fake.on("GET", f"{VM}/getinstancelist", listing("Stopped"), listing("Running"))
    fake.on("POST", STATUS, already("I10016", "This instance is already running."))
    inst = fake.client(places).instances.ensure_running("web1", poll=5)
    assert inst.running


def test_ensure_stopped_takes_i10017_as_success(fake: FakeIndigo, places: Places) -> None:
    fake.on("GET", f"{VM}/getinstancelist", listing("Running"), listing("Stopped"))
    fake.on("POST", STATUS, already("I10017", "This instance is already stopped."))
    assert fake.client(places).instances.ensure_stopped(7).stopped


def test_other_refusals_still_raise(fake: FakeIndigo, places: Places) -> None:
    fake.on("GET", f"{VM}/getinstancelist", listing("Stopped"))
    fake.on("POST", STATUS, already("I10017", "This instance is already stopped."))
    with pytest.raises(StateError):
        fake.client(places).instances.ensure_running(7)


def test_ensure_running_waits_out_the_os_installation(fake: FakeIndigo, places: Places) -> None:
    fake.on(
        "GET",
        f"{VM}/getinstancelist",
        listing("OS installation In Progress", "READY"),
        listing("OS installation In Progress", "READY"),
        listing("Stopped"),
        listing("Stopped"),
        listing("Running"),
    )
    fake.on("POST", STATUS, (200, '{"success":true,"sucessCode":"I20008"}'))
    assert fake.client(places).instances.ensure_running("web1", poll=10).running
    starts = [h for h in fake.sent if h.url.endswith("statusupdate")]
    assert len(starts) == 1 and fake.slept == [10, 10]


def test_wait_until_gives_up_on_the_clock(fake: FakeIndigo, places: Places) -> None:
    fake.on("GET", f"{VM}/getinstancelist", listing("Running"))
    with pytest.raises(WaitTimeout) as caught:
        fake.client(places).instances.wait_until(7, "Stopped", timeout=30, poll=10)
    assert sum(fake.slept) == 30
    assert caught.value.last is not None and caught.value.last.running
    assert "is Running, not Stopped, after 30 s" in caught.value.message


@pytest.mark.parametrize("shown", ["The URL entered is invalid.", "OS installation Failed"])
def test_a_failed_import_or_installation_ends_the_wait(
    fake: FakeIndigo, places: Places, shown: str
) -> None:
    fake.on("GET", f"{VM}/getinstancelist", listing(shown, "READY"))
    with pytest.raises(IndigoError, match=shown):
        fake.client(places).instances.wait_until(7, "Stopped")


def test_a_stop_that_never_finishes_is_forced(fake: FakeIndigo, places: Places) -> None:
    stopped = {"done": False}

    def status(h: Http) -> Reply:
        body = json.loads(h.content or b"{}")
        if body["status"] == "forcestop":
            stopped["done"] = True
            return reply(
                200, {"success": True, "sucessCode": "I20009", "instanceStatus": "shutoff"}
            )
        return reply(200, {"success": False, "sucessCode": "I10025", "message": "initiated"})

    def instances(h: Http) -> Reply:
        return reply(*listing("Stopped" if stopped["done"] else "Running"))

    fake.on("POST", STATUS, status)
    fake.on("GET", f"{VM}/getinstancelist", instances)
    inst = fake.client(places).instances.ensure_stopped(7, force_after=60, poll=15)
    assert inst.stopped and stopped["done"]
    assert sum(fake.slept) == 60


def test_wait_gone_after_destroy(fake: FakeIndigo, places: Places) -> None:
    fake.on("GET", f"{VM}/getinstancelist", listing("Stopped"), listing("Stopped"), (200, "[]"))
    fake.client(places).instances.wait_gone(7, poll=30)
    assert fake.slept == [30, 30]
