"""Can anything reach an instance, and through which rules? (the admin probe, the panel)

A packet gets through only when the guest answers and the firewall admits it
(domain/firewall_rules.py). With a driver whose guests are models (the sim, which has
compute/driver.py's GuestProbe) both come from what the driver itself holds: the rules it
was last given by apply_firewall and its guest's state, so a stopped instance, one still
booting, or one hung at the GRUB prompt after a restore admits nothing. Other drivers
are judged by the stored power state and the assigned template.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from aiiro.compute.driver import ComputeDriver, FirewallRule, GuestProbe
from aiiro.domain import firewalls
from aiiro.domain.lifecycle import Power
from aiiro.store.models import Instance

WHY = {
    "": "the instance is not running: nothing answers",
    "booting": "the instance is still booting: nothing answers yet",
    "grub": "the instance hangs at the GRUB prompt: nothing answers (forcestop, then start)",
}


@dataclass(frozen=True)
class Reach:
    answers: bool
    why: str  # why nothing answers ("" when the guest answers)
    rules: list[FirewallRule] | None  # what the driver enforces; None: no template


def check(s: Session, inst: Instance, driver: ComputeDriver) -> Reach:
    if isinstance(driver, GuestProbe):
        state = json.loads(inst.driver_state or "{}")
        detail = driver.guest_detail(state)
        return Reach(detail == "up", WHY.get(detail, ""), driver.applied_rules(state))
    running = inst.power == Power.RUNNING.value
    return Reach(running, "" if running else WHY[""], firewalls.enforced_rules(s, inst))
