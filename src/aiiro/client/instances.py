"""Instances: create, list, the statusupdate commands, waiters and idempotent helpers.

Indigo has no "get one instance" call: lookups read getinstancelist and pick by id or name.
An instance has two state axes: `status` READY -> OPEN (provisioning) and `instancestatus`
"OS installation In Progress" -> "Stopped" <-> "Running". A new instance ends Stopped.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from aiiro.client import catalog, sshkeys
from aiiro.client.lookup import Ref, as_id, pick
from aiiro.client.models import INSTALLING, RUNNING, STOPPED, Instance, Outcome
from aiiro.client.resource import M, Resource, operation
from aiiro.client_core.errors import (
    ALREADY_RUNNING,
    ALREADY_STOPPED,
    IndigoError,
    IndigoWarning,
    LookupFailed,
    StateError,
    WaitTimeout,
)
from aiiro.client_core.policy import Call, Engine, Op, Request, Sleep
from aiiro.client_core.shapes import INSTANCES

BASE = "/webarenaIndigo/v1/vm"
IMPORT_OS_ID = 3  # the hidden "Import VM" OS
COMMANDS = ("start", "stop", "forcestop", "reset", "destroy")
# instancestatus texts after which the instance will not reach another state by itself.
# The texts of an instance that will never get where a waiter waits: a failed import (the
# real service's text) and a failed installation (aiiro's, docs/decisions.md).
FAILED_STATES = {"The URL entered is invalid.", "OS installation Failed"}
DEFAULT_TIMEOUT = 600.0
DEFAULT_POLL = 2.0

OnPoll = Callable[[Instance | None, float], None]


def _instances(body: Any) -> list[Instance]:
    return [Instance.from_api(x) for x in INSTANCES.elements(body)]


def _created(body: Any) -> Instance:
    vms = body.get("vms") if isinstance(body, dict) else None
    if isinstance(vms, list):  # said to happen "depending on environment"; never seen
        vms = vms[0] if vms else None
    if not isinstance(vms, dict):
        raise IndigoError("the create answer has no `vms`")
    return Instance.from_api(vms)


def list_call() -> Call[list[Instance]]:
    return Call(Request("GET", INSTANCES.path), _instances)


def create_call(body: dict[str, Any]) -> Call[Instance]:
    return Call(Request("POST", f"{BASE}/createinstance", body=body), _created)


def status_call(instance_id: int, command: str) -> Call[Outcome]:
    if command not in COMMANDS:
        raise ValueError(f"unknown instance command {command!r}")
    body = {"instanceId": str(instance_id), "status": command}
    return Call(Request("POST", f"{BASE}/instance/statusupdate", body=body), Outcome.from_api)


# --- ops ----------------------------------------------------------------------------------


def get(e: Engine, ref: Ref) -> Op[Instance]:
    instances = yield from e.run(list_call())
    return pick(instances, ref, "instance", lambda i: i.id, lambda i: [i.instance_name])


def instance_id(e: Engine, ref: Ref) -> Op[int]:
    known = as_id(ref)
    if known is not None:
        return known
    return (yield from get(e, ref)).id


def create_body(
    e: Engine,
    name: str,
    *,
    os: Ref | None = None,
    plan: Ref,
    region: Ref | None = None,
    ssh_key: Ref | None = None,
    win_password: str | None = None,
    import_url: str | None = None,
    snapshot: int | None = None,
    instance_type: int = catalog.KVM,
) -> Op[dict[str, Any]]:
    """The createinstance body for one of its four variants, names resolved to ids (and a
    warning when the name is taken)."""
    yield from warn_if_taken(e, name)
    body: dict[str, Any] = {}
    if ssh_key is not None:
        key_id = as_id(ssh_key)
        body["sshKeyId"] = key_id if key_id is not None else (yield from sshkeys.get(e, ssh_key)).id
    if snapshot is not None:
        # Region and OS come from the snapshot.
        plan_obj = yield from catalog.find_plan(e, plan, None, instance_type)
        body.update(snapshotId=str(snapshot), instancePlan=plan_obj.id, instanceName=name)
        return body
    if win_password is not None:
        body["winPassword"] = win_password
    body["regionId"] = yield from catalog.region_id(e, region, instance_type)
    if import_url is not None:
        os_id = IMPORT_OS_ID
        body["importUrl"] = import_url
    elif os is None:
        raise IndigoError(
            "choose an OS image", hint="e.g. --os Debian12; `aiiro catalog os` lists them"
        )
    else:
        os_id = as_id(os) or (yield from catalog.find_os(e, os, instance_type)).id
    body["osId"] = os_id
    plan_os = None if import_url is not None else os_id
    plan_id = as_id(plan)
    if plan_id is None:
        plan_id = (yield from catalog.find_plan(e, plan, plan_os, instance_type)).id
    body["instancePlan"] = plan_id
    body["instanceName"] = name
    return body


def warn_if_taken(e: Engine, name: str) -> Op[None]:
    """An IndigoWarning when an instance already has this name: the API allows it, but
    the name then stops naming one instance (lookups by it fail with LookupFailed)."""
    taken = [i.id for i in (yield from e.run(list_call())) if i.instance_name == name]
    if taken:
        ids = ", ".join(str(i) for i in taken)
        warnings.warn(
            IndigoWarning(
                f"an instance named {name!r} already exists (id {ids}); the API allows "
                f"another, but then {name!r} names more than one: use ids, or another name"
            ),
            stacklevel=2,
        )


def create(e: Engine, name: str, **kw: Any) -> Op[Instance]:
    body = yield from create_body(e, name, **kw)
    return (yield from e.run(create_call(body)))


def command(e: Engine, ref: Ref, name: str) -> Op[Outcome]:
    iid = yield from instance_id(e, ref)
    return (yield from e.run(status_call(iid, name)))


def reached(inst: Instance, status: str) -> bool:
    """`status` is an instancestatus ("Running", "Stopped", any case) or a lifecycle
    status ("OPEN", "READY")."""
    if status.upper() in ("OPEN", "READY"):
        return inst.status.upper() == status.upper()
    return (inst.instancestatus or "").lower() == status.lower()


def _look(e: Engine, iid: int, start: float, on_poll: OnPoll | None) -> Op[Instance | None]:
    """One poll of a waiter: the instance as listed now (None once it has left the list)."""
    found = yield from e.run(list_call())
    inst = next((i for i in found if i.id == iid), None)
    if on_poll is not None:
        on_poll(inst, e.clock() - start)
    return inst


def wait_until(
    e: Engine,
    ref: Ref,
    status: str,
    timeout: float = DEFAULT_TIMEOUT,
    poll: float = DEFAULT_POLL,
    on_poll: OnPoll | None = None,
) -> Op[Instance]:
    """Poll the list until the instance reaches `status`; WaitTimeout after `timeout` s."""
    iid = yield from instance_id(e, ref)
    start = e.clock()
    while True:
        inst = yield from _look(e, iid, start, on_poll)
        if inst is None:
            raise LookupFailed(f"instance {iid} is gone")
        if reached(inst, status):
            return inst
        if inst.instancestatus in FAILED_STATES:
            raise IndigoError(f"instance {inst.instance_name}: {inst.instancestatus}")
        left = start + timeout - e.clock()
        if left <= 0:
            raise WaitTimeout(
                f"instance {inst.instance_name} is {inst.instancestatus or inst.status}, "
                f"not {status}, after {timeout:g} s",
                last=inst,
            )
        yield Sleep(min(poll, left))


def wait_gone(
    e: Engine,
    ref: Ref,
    timeout: float = DEFAULT_TIMEOUT,
    poll: float = DEFAULT_POLL,
    on_poll: OnPoll | None = None,
) -> Op[None]:
    """Poll until the instance has left the list (destroy is asynchronous)."""
    iid = yield from instance_id(e, ref)
    start = e.clock()
    while (inst := (yield from _look(e, iid, start, on_poll))) is not None:
        left = start + timeout - e.clock()
        if left <= 0:
            raise WaitTimeout(f"instance {iid} is still listed after {timeout:g} s", last=inst)
        yield Sleep(min(poll, left))


def _unless_already(e: Engine, iid: int, name: str, already: str) -> Op[None]:
    """Send the command `name`; its refusal `already` (the instance is already where the
    command leads: I10016, I10017) counts as success."""
    try:
        yield from e.run(status_call(iid, name))
    except StateError as err:
        if err.code != already:
            raise


def ensure_running(
    e: Engine,
    ref: Ref,
    wait: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    poll: float = DEFAULT_POLL,
    on_poll: OnPoll | None = None,
) -> Op[Instance]:
    """Start unless running (I10016 is success); waits out an OS installation first."""
    inst = yield from get(e, ref)
    if inst.running:
        return inst
    if not inst.provisioned or inst.instancestatus == INSTALLING:
        inst = yield from wait_until(e, inst.id, STOPPED, timeout, poll, on_poll)
    yield from _unless_already(e, inst.id, "start", ALREADY_RUNNING)
    if not wait:
        return inst
    return (yield from wait_until(e, inst.id, RUNNING, timeout, poll, on_poll))


def ensure_stopped(
    e: Engine,
    ref: Ref,
    wait: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    poll: float = DEFAULT_POLL,
    on_poll: OnPoll | None = None,
    force_after: float | None = None,
) -> Op[Instance]:
    """Stop unless stopped (I10017 is success). With `force_after`, a stop that has not
    finished after that many seconds is finished with forcestop."""
    inst = yield from get(e, ref)
    if inst.stopped:
        return inst
    yield from _unless_already(e, inst.id, "stop", ALREADY_STOPPED)
    if not wait:
        return inst
    return (yield from wait_stopped(e, inst.id, timeout, poll, on_poll, force_after))


def wait_stopped(
    e: Engine,
    ref: Ref,
    timeout: float = DEFAULT_TIMEOUT,
    poll: float = DEFAULT_POLL,
    on_poll: OnPoll | None = None,
    force_after: float | None = None,
) -> Op[Instance]:
    """Wait for a stop that was sent; with `force_after`, one that has not finished after
    that many seconds is finished with forcestop."""
    if force_after is None:
        return (yield from wait_until(e, ref, STOPPED, timeout, poll, on_poll))
    try:
        return (yield from wait_until(e, ref, STOPPED, force_after, poll, on_poll))
    except WaitTimeout:
        iid = yield from instance_id(e, ref)
        yield from e.run(status_call(iid, "forcestop"))
        return (yield from wait_until(e, iid, STOPPED, timeout, poll, on_poll))


def create_and_start(
    e: Engine,
    name: str,
    timeout: float = DEFAULT_TIMEOUT,
    poll: float = DEFAULT_POLL,
    on_poll: OnPoll | None = None,
    **kw: Any,
) -> Op[Instance]:
    """Create, wait for the OS installation to end (Stopped), start, wait for Running."""
    inst = yield from create(e, name, **kw)
    yield from wait_until(e, inst.id, STOPPED, timeout, poll, on_poll)
    return (yield from ensure_running(e, inst.id, True, timeout, poll, on_poll))


# --- the resource ----------------------------------------------------------------------------


class Instances(Resource[M]):
    """Instances: `indigo.instances`."""

    @operation
    def list(self) -> Op[list[Instance]]:
        """Every instance of the account."""
        return self._e.run(list_call())

    @operation
    def get(self, ref: Ref) -> Op[Instance]:
        """One instance, by id or name (LookupFailed when none or several have the name)."""
        return get(self._e, ref)

    @operation
    def create(
        self,
        name: str,
        *,
        plan: Ref,
        os: Ref | None = None,
        region: Ref | None = None,
        ssh_key: Ref | None = None,
        win_password: str | None = None,
        import_url: str | None = None,
        snapshot: int | None = None,
    ) -> Op[Instance]:
        """Create an instance (it installs its OS, then stays Stopped). Give `ssh_key` for
        Linux, `win_password` for Windows, `import_url` to import a disk image, or
        `snapshot` (an id) to start from a snapshot. `region` defaults to the only one."""
        return create(
            self._e,
            name,
            plan=plan,
            os=os,
            region=region,
            ssh_key=ssh_key,
            win_password=win_password,
            import_url=import_url,
            snapshot=snapshot,
        )

    @operation
    def create_and_start(
        self,
        name: str,
        *,
        plan: Ref,
        os: Ref | None = None,
        region: Ref | None = None,
        ssh_key: Ref | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        poll: float = DEFAULT_POLL,
        on_poll: OnPoll | None = None,
    ) -> Op[Instance]:
        """Create, wait for the OS installation to end, start, and wait until Running."""
        return create_and_start(
            self._e,
            name,
            timeout,
            poll,
            on_poll,
            plan=plan,
            os=os,
            region=region,
            ssh_key=ssh_key,
        )

    @operation
    def start(self, ref: Ref) -> Op[Outcome]:
        """Start a stopped instance (I10016 when it is already running)."""
        return command(self._e, ref, "start")

    @operation
    def stop(self, ref: Ref) -> Op[Outcome]:
        """Graceful stop; usually answered as pending (I10025) and finished later."""
        return command(self._e, ref, "stop")

    @operation
    def forcestop(self, ref: Ref) -> Op[Outcome]:
        """Power the instance off at once."""
        return command(self._e, ref, "forcestop")

    @operation
    def reset(self, ref: Ref) -> Op[Outcome]:
        """Hard-reset a running instance."""
        return command(self._e, ref, "reset")

    @operation
    def destroy(self, ref: Ref) -> Op[Outcome]:
        """Needs a stopped instance (I10055 otherwise); the instance leaves the list later."""
        return command(self._e, ref, "destroy")

    @operation
    def wait_until(
        self,
        ref: Ref,
        status: str,
        timeout: float = DEFAULT_TIMEOUT,
        poll: float = DEFAULT_POLL,
        on_poll: OnPoll | None = None,
    ) -> Op[Instance]:
        """Poll until the instance reaches `status` (an instancestatus such as "Running",
        or "OPEN"/"READY"); WaitTimeout after `timeout` seconds."""
        return wait_until(self._e, ref, status, timeout, poll, on_poll)

    @operation
    def wait_gone(
        self,
        ref: Ref,
        timeout: float = DEFAULT_TIMEOUT,
        poll: float = DEFAULT_POLL,
        on_poll: OnPoll | None = None,
    ) -> Op[None]:
        """Poll until the instance has left the list (destroy is asynchronous)."""
        return wait_gone(self._e, ref, timeout, poll, on_poll)

    @operation
    def ensure_running(
        self,
        ref: Ref,
        wait: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        poll: float = DEFAULT_POLL,
        on_poll: OnPoll | None = None,
    ) -> Op[Instance]:
        """Start unless running (I10016 counts as success), after waiting out an OS
        installation; with `wait`, until Running."""
        return ensure_running(self._e, ref, wait, timeout, poll, on_poll)

    @operation
    def ensure_stopped(
        self,
        ref: Ref,
        wait: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        poll: float = DEFAULT_POLL,
        on_poll: OnPoll | None = None,
        force_after: float | None = None,
    ) -> Op[Instance]:
        """Stop unless stopped (I10017 counts as success); with `wait`, until Stopped, and
        with `force_after`, forcestop a stop that has not finished after that many seconds."""
        return ensure_stopped(self._e, ref, wait, timeout, poll, on_poll, force_after)
