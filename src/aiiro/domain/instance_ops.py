"""What the engine does for each instance operation, through the compute driver.

Operations of one instance run one at a time, in the order their commands were taken;
a command cancels the waiting steps it makes moot (lifecycle.CANCELS). A one-call step
(start, forcestop, reset) always makes its driver call, and moves the power state on only
if no later command has moved it since (a start taken while a forcestop waited: the
forcestop runs, then the start, and only the start decides the final state). A long step
(installation, ACPI shutdown, destroy) goes on only while the instance is still in the
state its command left; it begins in the driver, then polls `observe` for the result.

A step the engine gives up on (its driver calls kept failing) leaves the instance where
lifecycle.GIVES_UP_TO says, if no later command has moved it; the failed operation, with
its reason, is what the panel and /_aiiro/ show.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC

from aiiro.compute.driver import InstanceSpec
from aiiro.domain import addresses, lifecycle
from aiiro.domain.firewalls import APPLY_FIREWALL, enforced_rules
from aiiro.domain.lifecycle import Power
from aiiro.domain.snapshots import RESTORE
from aiiro.domain.specs import spec_of
from aiiro.engine.operations import Handler, Job
from aiiro.store.models import Instance

log = logging.getLogger("aiiro.engine")


def save(job: Job, inst: Instance, spec: InstanceSpec | None = None) -> None:
    """Store the driver's record and bump the instance's version (compare-and-set)."""
    if spec is not None:
        inst.driver_state = json.dumps(spec.state, separators=(",", ":"))
    inst.version += 1
    inst.updated_at = job.now


def _mine(job: Job, power: Power) -> Instance | None:
    """The instance, if it is still in `power` (otherwise a later command took over)."""
    inst = job.instance()
    if inst is None or inst.removed_at is not None or inst.power != power.value:
        return None
    return inst


# --- installation ---------------------------------------------------------------------


def provision(job: Job) -> None:
    inst = _mine(job, Power.INSTALLING)
    if inst is None:
        return
    t = job.rt.timings
    is_import = inst.import_url is not None
    expected = t.import_s if is_import else t.install_s
    step = expected * t.import_step_pct / 100 if is_import else 0.0
    phase = job.payload.get("phase", "begin")
    spec = spec_of(job.rt, job.s, inst)

    if phase == "begin":
        since = job.rt.clock.time()
        if job.payload.get("fault") == "import_invalid":
            # An emulator fault: the download never gets going; nothing is made.
            job.again_in(step, phase="fail")
            return
        job.drive(job.driver.provision, spec)
        save(job, inst, spec)
        job.payload.update(phase="wait", since=since)
        if expected > 0:
            job.again_in(min(expected, step) if step else expected)
            return
        # No time to wait (profile instant): see at once whether it is done.

    if phase == "fail":
        _install_failed(job, inst, f"{lifecycle.IMPORT_INVALID_TEXT} (fault import_invalid)")
        return

    obs = job.drive(job.driver.observe, spec)
    save(job, inst, spec)
    if obs.power == "provisioning":
        if is_import and obs.progress is not None:
            inst.progress = _stepped(obs.progress, t.import_step_pct)
        job.wait(job.payload["since"], expected, t.poll_s, step)
    elif obs.power in ("shutoff", "running"):
        if obs.power == "running":  # Indigo hands a new machine over shut off
            job.drive(job.driver.force_stop, spec)
            save(job, inst, spec)
        _installed(job, inst)
    else:  # provision_failed, or the machine vanished
        _install_failed(job, inst, f"the driver reports {obs.power}: {obs.detail or '-'}")


def _stepped(progress: int, step_pct: int) -> int:
    step = max(step_pct, 1)
    return min(100, max(0, progress) // step * step)


def _installed(job: Job, inst: Instance) -> None:
    started = job.now.replace(microsecond=0)
    inst.power = Power.STOPPED.value
    inst.status = lifecycle.OPEN
    inst.progress = None
    inst.started_at = started  # the first boot, right after the installation
    inst.arpadate = int(started.replace(tzinfo=UTC).timestamp())  # started_at is UTC
    save(job, inst)


def _install_failed(job: Job, inst: Instance, reason: str) -> None:
    inst.power = Power.INSTALL_FAILED.value
    inst.progress = None
    save(job, inst)
    job.fail(reason)


# --- power --------------------------------------------------------------------------------


def start(job: Job) -> None:
    _one_call(job, Power.STARTING, "start")


def stop(job: Job) -> None:
    inst = _mine(job, Power.STOPPING)
    if inst is None:
        return
    t = job.rt.timings
    spec = spec_of(job.rt, job.s, inst)
    if job.payload.get("phase", "begin") == "begin":
        if job.payload.get("hang"):
            return  # an emulator fault: the shutdown never completes; forcestop cures it
        job.drive(job.driver.stop, spec)
        save(job, inst, spec)
        job.payload.update(phase="wait", since=job.rt.clock.time())
        # (A machine that is already off — a start replaced by this stop — is done now.)
        if t.stop_s > 0 and job.drive(job.driver.observe, spec).power not in ("shutoff", "absent"):
            job.again_in(t.stop_s)
            return
    obs = job.drive(job.driver.observe, spec)
    save(job, inst, spec)
    if obs.power in ("shutoff", "absent"):
        inst.power = Power.STOPPED.value
        return
    since = float(job.payload["since"])
    if job.rt.clock.time() - since >= t.stop_timeout_s:
        # The guest ignores the request (hung, or no ACPI): it stays "Running" until a
        # forcestop, as on the real service.
        log.info("instance %s: guest did not shut down; forcestop it", inst.id)
        return
    job.wait(since, t.stop_s, t.poll_s)


def forcestop(job: Job) -> None:
    _one_call(job, Power.FORCESTOPPING, "force_stop")


def reset(job: Job) -> None:
    _one_call(job, Power.RESETTING, "reset")


def _one_call(job: Job, power: Power, action: str) -> None:
    inst = job.instance()
    if inst is None or inst.removed_at is not None:
        return
    spec = spec_of(job.rt, job.s, inst)
    job.drive(getattr(job.driver, action), spec)
    if inst.power == power.value:  # else a later command decides where it ends
        inst.power = lifecycle.SETTLES_TO[power].value
    save(job, inst, spec)


def destroy(job: Job) -> None:
    inst = _mine(job, Power.DESTROYING)
    if inst is None:
        return
    if job.payload.get("phase", "begin") == "begin":
        spec = spec_of(job.rt, job.s, inst)
        job.drive(job.driver.destroy, spec)
        save(job, inst, spec)
        job.payload.update(phase="remove", since=job.rt.clock.time())
        if job.rt.timings.removal_s > 0:
            job.again_in(job.rt.timings.removal_s)
            return
    since = float(job.payload["since"])
    if job.rt.clock.time() < since + job.rt.timings.removal_s:
        job.wait(since, job.rt.timings.removal_s, job.rt.timings.poll_s)
        return
    inst.removed_at = job.now
    addresses.release(job.s, inst.id)
    save(job, inst)


# --- when the engine gives up -------------------------------------------------------------

# The state each instance step works in: the step's command (or createinstance) left it there.
STEP_POWER = {
    "provision": Power.INSTALLING,
    "start": Power.STARTING,
    "stop": Power.STOPPING,
    "forcestop": Power.FORCESTOPPING,
    "reset": Power.RESETTING,
    "destroy": Power.DESTROYING,
    RESTORE: Power.RESTORING,
}


def settle_after_failure(job: Job) -> None:
    """Leave the instance where it takes commands again; a later command that moved it
    since decides where it ends instead."""
    inst = job.instance()
    if inst is None or inst.removed_at is not None or inst.power != STEP_POWER[job.op.kind]:
        return
    inst.power = lifecycle.gives_up_to(inst.power, inst.status).value
    inst.progress = None
    save(job, inst)


# --- firewall ---------------------------------------------------------------------------


def apply_firewall(job: Job) -> None:
    """Give the driver the rules of the instance's template as they are now."""
    inst = job.instance()
    if inst is None or inst.removed_at is not None or inst.power == Power.DESTROYING.value:
        return
    spec = spec_of(job.rt, job.s, inst)
    job.drive(job.driver.apply_firewall, spec, enforced_rules(job.s, inst))
    save(job, inst, spec)


# --- what the engine runs (handed to it by serve.py) -------------------------------------

HANDLERS: dict[str, Handler] = {
    "provision": provision,
    "start": start,
    "stop": stop,
    "forcestop": forcestop,
    "reset": reset,
    "destroy": destroy,
    APPLY_FIREWALL: apply_firewall,
}
GIVE_UP: dict[str, Handler] = {kind: settle_after_failure for kind in STEP_POWER}
