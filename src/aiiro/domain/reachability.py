"""Can anything reach an instance, and through which rules? (the admin probe, the panel)

A packet gets through only when the guest answers and the firewall admits it
(domain/firewall_rules.py). With the sim driver both come from what the driver itself
holds: the rules it was last given by apply_firewall and its guest's state, so a stopped
instance, one still booting, or one hung at the GRUB prompt after a restore admits
nothing. Other drivers are judged by the stored power state and the assigned template.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from aiiro.compute import sim
from aiiro.compute.driver import FirewallRule
from aiiro.domain import firewalls
from aiiro.domain.lifecycle import Power
from aiiro.runtime import Runtime
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


def check(rt: Runtime, s: Session, inst: Instance) -> Reach:
    if isinstance(rt.extras.get("driver"), sim.SimDriver):
        state = json.loads(inst.driver_state or "{}")
        detail = sim.guest_detail(rt, state)
        applied = state.get("firewall")
        rules = None if applied is None else [FirewallRule(**r) for r in applied]
        return Reach(detail == "up", WHY.get(detail, ""), rules)
    running = inst.power == Power.RUNNING.value
    return Reach(running, "" if running else WHY[""], firewalls.enforced_rules(s, inst))
