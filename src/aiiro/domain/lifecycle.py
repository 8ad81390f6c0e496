"""The instance lifecycle: power states, what the list shows for each, and which command
is accepted in which state. Pure data and functions, no I/O (tested exhaustively).

Indigo shows two axes (indigo-api-facts.md §8): `status` READY -> OPEN, and the text
`instancestatus` ("OS installation In Progress", "Stopped", "Running", import progress,
"The URL entered is invalid."). aiiro keeps one finer power state per instance
(Instance.power) from which both are derived. Transitional states exist while the engine
carries a command out through the compute driver; the list never shows a string nobody
has seen on the real service, so a transitional state shows the state the command
answered with ("running" for start and reset, "shutoff" for forcestop and destroy) except
for stop, which answers "initiated" and keeps showing "Running" until the guest is down.
The one text of aiiro's own is INSTALL_FAILED_TEXT: an installation (not an import) that
failed has no observed text, and showing "In Progress" for ever would be a lie.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Power(StrEnum):
    INSTALLING = "installing"  # READY: OS installation or import download under way
    INSTALL_FAILED = "install_failed"  # READY: the installation or import failed
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"  # ACPI shutdown requested; may never finish (forcestop)
    FORCESTOPPING = "forcestopping"
    RESETTING = "resetting"
    DESTROYING = "destroying"  # destroyed; leaves the list after a delay
    # restoresnapshot under way (domain/snapshots.py): shown "Stopped", every command waits
    RESTORING = "restoring"


class Command(StrEnum):
    START = "start"
    STOP = "stop"
    FORCESTOP = "forcestop"
    RESET = "reset"
    DESTROY = "destroy"


READY = "READY"
OPEN = "OPEN"
OTHERSTATUS = {READY: 10, OPEN: 20}

INSTALLING_TEXT = "OS installation In Progress"
STOPPED_TEXT = "Stopped"
RUNNING_TEXT = "Running"
IMPORT_INVALID_TEXT = "The URL entered is invalid."
# aiiro's: no failed installation of an OS image was ever recorded (decisions.md).
INSTALL_FAILED_TEXT = "OS installation Failed"
# aiiro's `daemonstatus` (always "" on Indigo) while an instance's compute host does not
# answer; `instancestatus` then keeps the last known state (decisions.md, "Compute hosts").
HOST_UNREACHABLE = "unreachable"


def import_progress_text(percent: int) -> str:
    return f"Disk image download in-progress ({percent}% Completed)"


SHOWN_AS = {
    Power.STOPPED: STOPPED_TEXT,
    Power.STARTING: RUNNING_TEXT,
    Power.RUNNING: RUNNING_TEXT,
    Power.STOPPING: RUNNING_TEXT,
    Power.FORCESTOPPING: STOPPED_TEXT,
    Power.RESETTING: RUNNING_TEXT,
    Power.DESTROYING: STOPPED_TEXT,
    Power.RESTORING: STOPPED_TEXT,
}


def instancestatus(
    power: str, is_import: bool, progress: int | None, status: str | None = None
) -> str:
    """The `instancestatus` text of getinstancelist (`status`: the stored READY/OPEN)."""
    p = Power(power)
    if p is Power.INSTALLING:
        if is_import:
            return import_progress_text(progress or 0)
        return INSTALLING_TEXT
    if p is Power.INSTALL_FAILED or (p is Power.DESTROYING and status == READY):
        # A failed installation keeps saying so until it is gone.
        return IMPORT_INVALID_TEXT if is_import else INSTALL_FAILED_TEXT
    return SHOWN_AS[p]


def status_of(power: str) -> str:
    """The lifecycle axis: READY until provisioned, OPEN after. (An instance destroyed
    while READY, a failed installation, keeps READY: the stored Instance.status says so.)"""
    return READY if Power(power) in (Power.INSTALLING, Power.INSTALL_FAILED) else OPEN


# --- commands ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Accept:
    """The command is taken: the instance moves to `to`, the engine finishes the work."""

    to: Power


@dataclass(frozen=True)
class Refuse:
    """The command is refused with this Indigo (I...) or aiiro (A...) error code."""

    code: str


ALREADY_RUNNING = "I10016"
ALREADY_STOPPED = "I10017"
ALREADY_DESTROYED = "I10018"
RUNNING_CANNOT_DESTROY = "I10055"
PROVISIONING = "A4021"  # shared with firewall assign / snapshots while READY
BUSY = "A4018"
FAILED_INSTALL = "A4019"

Decision = Accept | Refuse

_ON_RUNNING: dict[Command, Decision] = {
    Command.START: Refuse(ALREADY_RUNNING),
    Command.STOP: Accept(Power.STOPPING),
    Command.FORCESTOP: Accept(Power.FORCESTOPPING),
    Command.RESET: Accept(Power.RESETTING),
    Command.DESTROY: Refuse(RUNNING_CANNOT_DESTROY),
}

RULES: dict[Power, dict[Command, Decision]] = {
    Power.INSTALLING: {c: Refuse(PROVISIONING) for c in Command},
    Power.INSTALL_FAILED: {
        **{c: Refuse(FAILED_INSTALL) for c in Command},
        Command.DESTROY: Accept(Power.DESTROYING),
    },
    Power.STOPPED: {
        Command.START: Accept(Power.STARTING),
        Command.STOP: Refuse(ALREADY_STOPPED),
        Command.FORCESTOP: Refuse(ALREADY_STOPPED),
        Command.RESET: Refuse(ALREADY_STOPPED),
        Command.DESTROY: Accept(Power.DESTROYING),
    },
    Power.RUNNING: _ON_RUNNING,
    # start answered "running": a second start is "already running" (two simultaneous
    # starts: one I20008, one I10016). A stop or forcestop replaces a start the engine has
    # not carried out yet.
    Power.STARTING: {
        Command.START: Refuse(ALREADY_RUNNING),
        Command.STOP: Accept(Power.STOPPING),
        Command.FORCESTOP: Accept(Power.FORCESTOPPING),
        Command.RESET: Refuse(BUSY),
        Command.DESTROY: Refuse(RUNNING_CANNOT_DESTROY),
    },
    # The guest is still up while it shuts down: destroy is I10055 (clients retry it until
    # the stop is through), forcestop cuts the shutdown short.
    Power.STOPPING: {
        Command.START: Refuse(BUSY),
        Command.STOP: Refuse(BUSY),
        Command.FORCESTOP: Accept(Power.FORCESTOPPING),
        Command.RESET: Refuse(BUSY),
        Command.DESTROY: Refuse(RUNNING_CANNOT_DESTROY),
    },
    # forcestop answered "shutoff": the instance is as good as stopped. A start or destroy
    # queues behind the forcestop (which always runs: it is the cure of a hung boot).
    Power.FORCESTOPPING: {
        Command.START: Accept(Power.STARTING),
        Command.STOP: Refuse(ALREADY_STOPPED),
        Command.FORCESTOP: Refuse(ALREADY_STOPPED),
        Command.RESET: Refuse(ALREADY_STOPPED),
        Command.DESTROY: Accept(Power.DESTROYING),
    },
    Power.RESETTING: {
        Command.START: Refuse(ALREADY_RUNNING),
        Command.STOP: Accept(Power.STOPPING),
        Command.FORCESTOP: Accept(Power.FORCESTOPPING),
        Command.RESET: Refuse(BUSY),
        Command.DESTROY: Refuse(RUNNING_CANNOT_DESTROY),
    },
    Power.DESTROYING: {c: Refuse(ALREADY_DESTROYED) for c in Command},
    # The disk is being put back; the machine is off. Start once the restore is through.
    Power.RESTORING: {c: Refuse(BUSY) for c in Command},
}


def decide(power: str, command: Command) -> Decision:
    return RULES[Power(power)][command]


# What an accepted command makes moot among the steps the engine has not begun yet (they
# are cancelled); every other waiting step runs first, in order.
CANCELS: dict[Command, tuple[Command, ...]] = {
    Command.START: (),
    Command.STOP: (Command.START, Command.RESET),
    Command.FORCESTOP: (Command.START, Command.STOP, Command.RESET, Command.FORCESTOP),
    Command.RESET: (),
    Command.DESTROY: (),
}


# Where each engine step leads when the driver has done its part.
SETTLES_TO = {
    Power.STARTING: Power.RUNNING,
    Power.STOPPING: Power.STOPPED,
    Power.FORCESTOPPING: Power.STOPPED,
    Power.RESETTING: Power.RUNNING,
}


# Where an engine step leaves the instance when its driver calls keep failing and the engine
# gives up (AIIRO_OPERATION_MAX_ATTEMPTS): the settled state the machine most likely is in,
# so that the instance takes commands again (reconciliation then follows what the driver
# observes). The failure itself is shown beside the state (panel, /_aiiro/), not in it.
GIVES_UP_TO = {
    Power.INSTALLING: Power.INSTALL_FAILED,
    Power.STARTING: Power.STOPPED,  # the machine did not start
    Power.STOPPING: Power.RUNNING,  # the shutdown was not even begun
    Power.FORCESTOPPING: Power.RUNNING,  # the power was not cut
    Power.RESETTING: Power.RUNNING,
    Power.DESTROYING: Power.STOPPED,  # the machine is still there: destroy it again
    Power.RESTORING: Power.STOPPED,  # the machine is off; its disk may be the old one
}


def gives_up_to(power: str, status: str) -> Power:
    """GIVES_UP_TO, for an instance whose stored lifecycle axis is `status`: one never
    provisioned (READY: installing, or a failed installation being destroyed) can only be a
    failed installation."""
    if status == READY:
        return Power.INSTALL_FAILED
    return GIVES_UP_TO[Power(power)]
