"""The lifecycle table written out by hand: the expected answers of the tests, never read
from src/aiiro/domain/lifecycle.py (a test that takes its expectations from the module
under test agrees with any slip in it).

A cell is either a power state in lower case (accepted: the instance moves there, the
answer is the command's success code) or an error code (refused with 400). Sources:
indigo-api-facts.md §8 for the I... codes, docs/lifecycle.md for aiiro's A... codes and
the transitional rows.
"""

from __future__ import annotations

COMMANDS = ("start", "stop", "forcestop", "reset", "destroy")

# fmt: off
ROWS: dict[str, tuple[str, str, str, str, str]] = {
    #                  start        stop         forcestop        reset        destroy
    "installing":     ("A4021",     "A4021",     "A4021",         "A4021",     "A4021"),
    "install_failed": ("A4019",     "A4019",     "A4019",         "A4019",     "destroying"),
    "stopped":        ("starting",  "I10017",    "I10017",        "I10017",    "destroying"),
    "starting":       ("I10016",    "stopping",  "forcestopping", "A4018",     "I10055"),
    "running":        ("I10016",    "stopping",  "forcestopping", "resetting", "I10055"),
    "stopping":       ("A4018",     "A4018",     "forcestopping", "A4018",     "I10055"),
    "forcestopping":  ("starting",  "I10017",    "I10017",        "I10017",    "destroying"),
    "resetting":      ("I10016",    "stopping",  "forcestopping", "A4018",     "I10055"),
    "destroying":     ("I10018",    "I10018",    "I10018",        "I10018",    "I10018"),
    "restoring":      ("A4018",     "A4018",     "A4018",         "A4018",     "A4018"),
}
# fmt: on
TABLE = {power: dict(zip(COMMANDS, row, strict=True)) for power, row in ROWS.items()}

# The answer of an accepted command: (HTTP status, sucessCode).
SUCCESS: dict[str, tuple[int, str]] = {
    "start": (200, "I20008"),
    "stop": (200, "I10025"),
    "forcestop": (200, "I20009"),
    "reset": (200, "A2001"),
    "destroy": (200, "I20010"),
}

# The errorMessage of each refusal code.
REFUSED: dict[str, str] = {
    "I10016": "This instance is already running.",
    "I10017": "This instance is already stopped.",
    "I10018": "This instance has already been destroyed.",
    "I10055": "Instance is in running status. Please stop the instance before destroying.",
    "A4018": "The instance is still carrying out a previous command. Try again shortly.",
    "A4019": "The instance could not be provisioned. Destroy it and create it again.",
    "A4021": (
        "The instance is still being provisioned. Try again once its OS installation has completed."
    ),
}

# What getinstancelist shows for a provisioned instance (an OS image, not an import) in
# each power state: (status, instancestatus).
SHOWN: dict[str, tuple[str, str]] = {
    "installing": ("READY", "OS installation In Progress"),
    "install_failed": ("READY", "OS installation Failed"),
    "stopped": ("OPEN", "Stopped"),
    "starting": ("OPEN", "Running"),
    "running": ("OPEN", "Running"),
    "stopping": ("OPEN", "Running"),
    "forcestopping": ("OPEN", "Stopped"),
    "resetting": ("OPEN", "Running"),
    "destroying": ("OPEN", "Stopped"),
    "restoring": ("OPEN", "Stopped"),
}


def expected(power: str, command: str) -> tuple[str | None, int, str]:
    """(the power the instance moves to or None, HTTP status, code) for one cell."""
    cell = TABLE[power][command]
    if cell.islower():
        status, code = SUCCESS[command]
        return cell, status, code
    return None, 400, cell
