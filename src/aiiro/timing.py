"""Timing profiles: how long each lifecycle step takes on the server clock.

`faithful` follows what people measured on the real service (indigo-api-facts.md §8):
an OS installation of one to two and a half minutes, an import that shows its download
progress in 5% steps, a stop that takes "a few minutes", a destroyed instance that stays
listed for up to two minutes. `fast` (the default) keeps the same sequence of states but
lets each last about a second, so a script sees every state without waiting. `instant`
makes every step take no time (tests).

The values are in docs/lifecycle.md. The profile can be switched at runtime (emulator
control); a step already under way is judged by the profile in force when it is checked.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Timings:
    name: str
    install_s: float  # createinstance -> OS installed, shut off (READY -> OPEN, "Stopped")
    import_s: float  # createinstance from an import URL: download and install
    import_step_pct: int  # the download progress moves in steps of this many percent
    boot_s: float  # start/reset -> the guest has booted (login prompt, answers)
    stop_s: float  # stop (ACPI shutdown) -> "Stopped"
    stop_timeout_s: float  # a stop still not done after this is left alone (forcestop it)
    removal_s: float  # destroy -> the instance leaves getinstancelist
    snapshot_s: float  # takesnapshot -> "created" (used by the snapshot operations)
    restore_s: float  # restoresnapshot -> done (used by the snapshot operations)
    poll_s: float  # how often the engine asks a real driver how a long step is going

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# One column per profile, one row per step (the fields of Timings, in order).
_NAMES = ("faithful", "fast", "instant")
_STEPS: dict[str, tuple[Any, ...]] = {
    "install_s": (90.0, 2.0, 0.0),
    "import_s": (150.0, 3.0, 0.0),
    "import_step_pct": (5, 20, 100),
    "boot_s": (5.0, 1.0, 0.0),
    "stop_s": (120.0, 1.0, 0.0),
    "stop_timeout_s": (600.0, 30.0, 30.0),
    "removal_s": (60.0, 1.0, 0.0),
    "snapshot_s": (45.0, 1.0, 0.0),
    "restore_s": (30.0, 1.0, 0.0),
    "poll_s": (5.0, 0.25, 0.05),
}
PROFILES: dict[str, Timings] = {
    name: Timings(name, **{step: values[i] for step, values in _STEPS.items()})
    for i, name in enumerate(_NAMES)
}


def profile_named(name: str) -> Timings:
    """The profile called `name`; ValueError naming the choices if there is none."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; one of {', '.join(PROFILES)}")
    return PROFILES[name]
