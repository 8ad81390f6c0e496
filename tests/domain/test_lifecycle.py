"""The lifecycle table (domain/lifecycle.py) against the rules of indigo-api-facts.md §8."""

from __future__ import annotations

import pytest

from aiiro.domain import lifecycle
from aiiro.domain.lifecycle import Accept, Command, Power, Refuse, decide
from tests.lifecycle_table import COMMANDS, SHOWN, TABLE, expected


def test_every_state_answers_every_command() -> None:
    for power in Power:
        for cmd in Command:
            assert isinstance(decide(power, cmd), Accept | Refuse)


def test_start_and_stop_are_not_idempotent() -> None:
    assert decide(Power.RUNNING, Command.START) == Refuse("I10016")
    assert decide(Power.STOPPED, Command.STOP) == Refuse("I10017")


def test_destroy_needs_a_stopped_instance() -> None:
    assert decide(Power.RUNNING, Command.DESTROY) == Refuse("I10055")
    assert decide(Power.STOPPED, Command.DESTROY) == Accept(Power.DESTROYING)
    # While a stop is under way the guest still runs: destroy is refused the same way, so
    # clients that retry destroy after a stop (LAUNCH) get through once it is down.
    assert decide(Power.STOPPING, Command.DESTROY) == Refuse("I10055")


def test_nothing_but_waiting_while_provisioning() -> None:
    for cmd in Command:
        assert decide(Power.INSTALLING, cmd) == Refuse("A4021")


def test_a_failed_installation_can_only_be_destroyed() -> None:
    for cmd in Command:
        expected = Accept(Power.DESTROYING) if cmd is Command.DESTROY else Refuse("A4019")
        assert decide(Power.INSTALL_FAILED, cmd) == expected


def test_forcestop_cuts_any_running_state_short() -> None:
    for power in (Power.RUNNING, Power.STARTING, Power.STOPPING, Power.RESETTING):
        assert decide(power, Command.FORCESTOP) == Accept(Power.FORCESTOPPING)


def test_a_start_in_flight_counts_as_running() -> None:
    # Two simultaneous starts: one I20008, the other I10016.
    assert decide(Power.STOPPED, Command.START) == Accept(Power.STARTING)
    assert decide(Power.STARTING, Command.START) == Refuse("I10016")


def test_everything_is_refused_on_a_destroyed_instance() -> None:
    for cmd in Command:
        assert decide(Power.DESTROYING, cmd) == Refuse("I10018")


def test_accepted_commands_settle_where_their_answer_said() -> None:
    answered = {
        Command.START: "Running",
        Command.FORCESTOP: "Stopped",
        Command.RESET: "Running",
        Command.DESTROY: "Stopped",
    }
    for power in Power:
        for cmd, text in answered.items():
            d = decide(power, cmd)
            if isinstance(d, Accept):
                # The list shows at once what the answer said...
                assert lifecycle.instancestatus(d.to, False, None) == text
                # ...and the engine ends where the list already is.
                end = lifecycle.SETTLES_TO.get(d.to, d.to)
                assert lifecycle.instancestatus(end, False, None) == text


def test_stop_keeps_showing_running_until_the_guest_is_down() -> None:
    assert decide(Power.RUNNING, Command.STOP) == Accept(Power.STOPPING)
    assert lifecycle.instancestatus(Power.STOPPING, False, None) == "Running"
    assert lifecycle.SETTLES_TO[Power.STOPPING] is Power.STOPPED


@pytest.mark.parametrize(
    ("power", "is_import", "progress", "status", "text"),
    [
        (Power.INSTALLING, False, None, "READY", "OS installation In Progress"),
        (Power.INSTALLING, True, 5, "READY", "Disk image download in-progress (5% Completed)"),
        (Power.INSTALLING, True, None, "READY", "Disk image download in-progress (0% Completed)"),
        (Power.INSTALL_FAILED, True, None, "READY", "The URL entered is invalid."),
        (Power.DESTROYING, True, None, "READY", "The URL entered is invalid."),
        (Power.INSTALL_FAILED, False, None, "READY", "OS installation Failed"),
        (Power.DESTROYING, False, None, "READY", "OS installation Failed"),
        (Power.DESTROYING, False, None, "OPEN", "Stopped"),
        (Power.STOPPED, False, None, "OPEN", "Stopped"),
        (Power.RUNNING, False, None, "OPEN", "Running"),
    ],
)
def test_instancestatus_texts(
    power: Power, is_import: bool, progress: int | None, status: str, text: str
) -> None:
    assert lifecycle.instancestatus(power, is_import, progress, status) == text


def test_only_observed_texts_are_ever_shown_but_a_failed_installation() -> None:
    observed = {"OS installation In Progress", "Stopped", "Running", "The URL entered is invalid."}
    shown = {
        lifecycle.instancestatus(power, is_import, None, status)
        for power in Power
        for is_import in (False, True)
        for status in ("READY", "OPEN")
        if not is_import or power is not Power.INSTALLING
    }
    # The one text of aiiro's own (decisions.md): nobody recorded a failed OS installation.
    assert shown - observed == {"OS installation Failed"}


def test_a_step_given_up_settles_where_the_instance_takes_commands_again() -> None:
    # Every state an engine step works in has somewhere to go...
    steps = {Power.INSTALLING, Power.STARTING, Power.STOPPING, Power.FORCESTOPPING,
             Power.RESETTING, Power.DESTROYING, Power.RESTORING}  # fmt: skip
    assert set(lifecycle.GIVES_UP_TO) == steps
    assert lifecycle.gives_up_to(Power.STARTING, "OPEN") is Power.STOPPED
    assert lifecycle.gives_up_to(Power.STOPPING, "OPEN") is Power.RUNNING
    assert lifecycle.gives_up_to(Power.FORCESTOPPING, "OPEN") is Power.RUNNING
    assert lifecycle.gives_up_to(Power.RESETTING, "OPEN") is Power.RUNNING
    assert lifecycle.gives_up_to(Power.DESTROYING, "OPEN") is Power.STOPPED
    assert lifecycle.gives_up_to(Power.RESTORING, "OPEN") is Power.STOPPED
    # ...and one never provisioned can only be a failed installation.
    assert lifecycle.gives_up_to(Power.INSTALLING, "READY") is Power.INSTALL_FAILED
    assert lifecycle.gives_up_to(Power.DESTROYING, "READY") is Power.INSTALL_FAILED
    # ...where a command is accepted again: nothing is stuck.
    for power in steps:
        for status in ("READY", "OPEN"):
            settled = lifecycle.gives_up_to(power, status)
            assert any(isinstance(decide(settled, c), Accept) for c in Command)


def test_status_axis() -> None:
    assert lifecycle.status_of(Power.INSTALLING) == "READY"
    assert lifecycle.status_of(Power.INSTALL_FAILED) == "READY"
    for power in (Power.STOPPED, Power.RUNNING, Power.STOPPING):
        assert lifecycle.status_of(power) == "OPEN"
    assert lifecycle.OTHERSTATUS == {"READY": 10, "OPEN": 20}


def test_commands_taken_before_the_engine_caught_up() -> None:
    # A stop replaces a start or reset not yet carried out; a start or destroy queues
    # behind a forcestop (which always runs: it cures a boot hung at GRUB).
    assert decide(Power.STARTING, Command.STOP) == Accept(Power.STOPPING)
    assert decide(Power.RESETTING, Command.STOP) == Accept(Power.STOPPING)
    assert decide(Power.FORCESTOPPING, Command.START) == Accept(Power.STARTING)
    assert decide(Power.FORCESTOPPING, Command.DESTROY) == Accept(Power.DESTROYING)
    assert Command.FORCESTOP not in lifecycle.CANCELS[Command.START]
    assert Command.FORCESTOP not in lifecycle.CANCELS[Command.DESTROY]
    assert set(lifecycle.CANCELS[Command.STOP]) == {Command.START, Command.RESET}


def test_cancelled_steps_are_only_those_a_command_makes_moot() -> None:
    for cmd, moot in lifecycle.CANCELS.items():
        assert Command.DESTROY not in moot
        if cmd is not Command.FORCESTOP:
            assert Command.FORCESTOP not in moot


# --- the whole table, against the literal copy in tests/lifecycle_table.py ---------------


@pytest.mark.parametrize("power", list(TABLE))
@pytest.mark.parametrize("command", COMMANDS)
def test_every_cell_of_the_table(power: str, command: str) -> None:
    to, _status, code = expected(power, command)
    want = Refuse(code) if to is None else Accept(Power(to))
    assert decide(power, Command(command)) == want


def test_the_table_has_exactly_ten_states_and_five_commands() -> None:
    assert sorted(p.value for p in Power) == sorted(TABLE)
    assert sorted(c.value for c in Command) == sorted(COMMANDS)
    assert len(TABLE) * len(COMMANDS) == 50


@pytest.mark.parametrize("power", list(SHOWN))
def test_what_the_list_shows_in_each_state(power: str) -> None:
    status, text = SHOWN[power]
    assert lifecycle.instancestatus(power, False, None, status) == text
    if power != "destroying":  # that keeps the status it had
        assert lifecycle.status_of(power) == status


def test_the_refusal_codes_are_the_documented_ones() -> None:
    assert (lifecycle.ALREADY_RUNNING, lifecycle.ALREADY_STOPPED) == ("I10016", "I10017")
    assert (lifecycle.ALREADY_DESTROYED, lifecycle.RUNNING_CANNOT_DESTROY) == ("I10018", "I10055")
    assert (lifecycle.PROVISIONING, lifecycle.BUSY, lifecycle.FAILED_INSTALL) == (
        "A4021",
        "A4018",
        "A4019",
    )


def test_each_step_settles_where_its_answer_said() -> None:
    assert {p.value: t.value for p, t in lifecycle.SETTLES_TO.items()} == {
        "starting": "running",
        "stopping": "stopped",
        "forcestopping": "stopped",
        "resetting": "running",
    }
    assert {c.value: sorted(m.value for m in moot) for c, moot in lifecycle.CANCELS.items()} == {
        "start": [],
        "stop": ["reset", "start"],
        "forcestop": ["forcestop", "reset", "start", "stop"],
        "reset": [],
        "destroy": [],
    }
