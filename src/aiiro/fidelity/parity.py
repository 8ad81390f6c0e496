"""`aiiro parity`: the same calls asked of two Indigo endpoints, their answers compared by
shape (compare.py).

Each side is an `Engine` with its own credentials, so each keeps to its own quota: the
engine waits for the quota's reset instead of drawing a 429 and says so
(`Engine.on_quota_wait`). The calls go in lockstep, left then right, and the ids a call
needs (a firewall to read, an instance whose snapshots to list, what a scenario made)
come from that side's own earlier answers.

The read-only run asks for a token, the SSH keys, the catalogue, the instances, the
firewalls and a template, and a snapshot list. A scenario (`SCENARIOS`) then writes:
it makes things on both sides, and on the real service an instance costs money.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiiro.client import catalog, firewalls, instances, snapshots, sshkeys
from aiiro.client.firewalls import parse_rule
from aiiro.client_core.policy import Call, Engine, Op, Request, Sleep
from aiiro.client_core.tokens import Token
from aiiro.fidelity.compare import Answer, Compared, Report
from aiiro.redaction import STAND_IN_KEY

T = TypeVar("T")


@dataclass
class Side:
    """One endpoint: its engine, and the ids its answers gave (what the next calls need)."""

    label: str
    engine: Engine
    ids: dict[str, int] = field(default_factory=dict)
    made: dict[str, int] = field(default_factory=dict)  # what a scenario made, not yet removed

    def ask(self, req: Request) -> Op[Answer]:
        reply = yield from self.engine.send(req)
        return Answer.from_reply(reply)


# A step's request for one side: None when that side has nothing to ask about.
Build = Callable[[Side], Op[Request | None]]


@dataclass
class Step:
    name: str
    build: Build
    after: Callable[[Side, Answer], None] | None = None
    until: Callable[[Side, Answer], bool] | None = None  # poll until true (a wait)


def now(value: T) -> Op[T]:
    """An op that sends nothing and gives `value`."""
    yield from ()
    return value


def fixed(req: Request) -> Build:
    return lambda side: now(req)


def needing(key: str, make: Callable[[int], Request]) -> Build:
    """A request about the side's `key` (a firewall, an instance), when it has one."""
    return lambda side: now(make(side.ids[key]) if key in side.ids else None)


def parsed(call: Call[Any], answer: Answer) -> Any:
    """The SDK's reading of an answer; None when it cannot read it (the shape is off)."""
    if answer.status >= 400:
        return None
    try:
        return call.parse(answer.body)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None


def remember(key: str, call: Call[Any], pick: Callable[[Any], int | None]) -> Callable[..., None]:
    """An `after` that keeps the id `pick` finds in the SDK's reading of the answer."""

    def after(side: Side, answer: Answer) -> None:
        value = parsed(call, answer)
        found = pick(value) if value else None
        if found is not None:
            side.ids[key] = found

    return after


def _token(side: Side) -> Op[Request | None]:
    return now(side.engine.token_request())


def keep_token(side: Side, answer: Answer) -> None:
    """The token the token call brought is the side's token from now on: no second
    request for it (the gateway limits those too)."""
    body = answer.body
    if answer.status < 300 and isinstance(body, dict) and "accessToken" in body:
        e = side.engine
        key, _ = e.settings.require_credentials()
        e.tokens.put(e.endpoint, key, Token.from_api(body, e.clock()))


def _first_image(categories: Any) -> int | None:
    return next((image.id for c in categories for image in c.images), None)


def _plans(side: Side) -> Op[Request | None]:
    return now(catalog.plans_call(catalog.KVM, side.ids.get("os")).request)


def read_only() -> list[Step]:
    """The read-only calls, in order (parity's first part)."""
    return [
        Step("POST /oauth/v1/accesstokens", _token, keep_token),
        Step("GET /vm/sshkey", fixed(sshkeys.list_call().request)),
        Step("GET /vm/sshkey/active/status", fixed(sshkeys.list_call(active_only=True).request)),
        Step("GET /vm/instancetypes", fixed(catalog.types_call().request)),
        Step("GET /vm/getregion", fixed(catalog.regions_call().request)),
        Step(
            "GET /vm/oslist",
            fixed(catalog.os_call().request),
            remember("os", catalog.os_call(), _first_image),
        ),
        Step("GET /vm/getinstancespec", _plans),
        Step(
            "GET /vm/getinstancelist",
            fixed(instances.list_call().request),
            remember("instance", instances.list_call(), lambda found: found[0].id),
        ),
        Step(
            "GET /nw/getfirewalllist",
            fixed(firewalls.list_call().request),
            remember("firewall", firewalls.list_call(), lambda found: found[0].id),
        ),
        Step(
            "GET /nw/gettemplate/{id}",
            needing("firewall", lambda i: firewalls.template_call(i).request),
        ),
        Step(
            "GET /disk/snapshotlist/{instanceId}",
            needing("instance", lambda i: snapshots.list_call(i).request),
        ),
    ]


# --- write scenarios -------------------------------------------------------------------------


def _made(key: str, pick: Callable[[Any], Any]) -> Callable[[Side, Answer], None]:
    """An `after` keeping the id a create answer gives, as made (to be removed)."""

    def after(side: Side, answer: Answer) -> None:
        if answer.status >= 300 or not isinstance(answer.body, dict):
            return
        try:
            found = int(pick(answer.body))
        except (KeyError, TypeError, ValueError, IndexError):
            return
        side.ids[key] = side.made[key] = found

    return after


def _removed(key: str) -> Callable[[Side, Answer], None]:
    def after(side: Side, answer: Answer) -> None:
        if answer.status < 300:
            side.made.pop(key, None)

    return after


def sshkey_roundtrip(name: str) -> list[Step]:
    """Create an SSH key, read it, rename it, list, delete it. Free of charge."""
    return [
        Step(
            "POST /vm/sshkey",
            fixed(sshkeys.create_call(name, STAND_IN_KEY).request),
            _made("sshkey", lambda b: b["sshKey"]["id"]),
        ),
        Step("GET /vm/sshkey/{id}", needing("sshkey", lambda i: sshkeys.get_call(i).request)),
        Step(
            "PUT /vm/sshkey/{id}",
            needing(
                "sshkey",
                lambda i: sshkeys.update_call(i, f"{name}-2", STAND_IN_KEY, "ACTIVE").request,
            ),
        ),
        Step("GET /vm/sshkey", fixed(sshkeys.list_call().request)),
        Step(
            "DELETE /vm/sshkey/{id}",
            needing("sshkey", lambda i: sshkeys.delete_call(i).request),
            _removed("sshkey"),
        ),
    ]


def firewall_roundtrip(name: str) -> list[Step]:
    """Create a firewall template, read it, change it, list, delete it. Free of charge."""
    ssh, https = parse_rule("ssh"), parse_rule("https")
    return [
        Step(
            "POST /nw/createfirewall",
            fixed(firewalls.create_call(name, [ssh], [], []).request),
            _made("firewall", lambda b: b["firewallId"]),
        ),
        Step(
            "GET /nw/gettemplate/{id}",
            needing("firewall", lambda i: firewalls.template_call(i).request),
        ),
        Step(
            "PUT /nw/updatefirewall",
            needing(
                "firewall", lambda i: firewalls.update_call(i, name, [ssh, https], [], None).request
            ),
        ),
        Step("GET /nw/getfirewalllist", fixed(firewalls.list_call().request)),
        Step(
            "DELETE /nw/deletefirewall/{id}",
            needing("firewall", lambda i: firewalls.delete_call(i).request),
            _removed("firewall"),
        ),
    ]


def _listed_as(status: str | None) -> Callable[[Side, Answer], bool]:
    """A wait's end: the side's instance listed in `status` (None: no longer listed)."""

    def done(side: Side, answer: Answer) -> bool:
        found = parsed(instances.list_call(), answer)
        if found is None or "instance" not in side.ids:
            return True  # nothing to wait for
        inst = next((i for i in found if i.id == side.ids["instance"]), None)
        if status is None:
            return inst is None
        return inst is None or instances.reached(inst, status)

    return done


def _create_instance(name: str, os: str, plan: str) -> Build:
    def build(side: Side) -> Op[Request | None]:
        if "sshkey" not in side.ids:
            return None
        body = yield from instances.create_body(
            side.engine, name, os=os, plan=plan, ssh_key=side.ids["sshkey"]
        )
        return instances.create_call(body).request

    return build


def _command(command: str) -> Build:
    return needing("instance", lambda i: instances.status_call(i, command).request)


def instance_lifecycle(name: str, os: str = "Debian12", plan: str = "1CR768MB") -> list[Step]:
    """An SSH key, an instance made with it, started, stopped, destroyed; the key deleted.
    On the real service the instance is charged for."""
    listing = fixed(instances.list_call().request)
    return [
        sshkey_roundtrip(name)[0],
        Step(
            "POST /vm/createinstance",
            _create_instance(name, os, plan),
            _made("instance", lambda b: b["vms"]["id"]),
        ),
        Step("GET /vm/getinstancelist (until Stopped)", listing, until=_listed_as("Stopped")),
        Step("POST /vm/instance/statusupdate start", _command("start")),
        Step("GET /vm/getinstancelist (until Running)", listing, until=_listed_as("Running")),
        Step("POST /vm/instance/statusupdate stop", _command("stop")),
        Step("GET /vm/getinstancelist (until Stopped)", listing, until=_listed_as("Stopped")),
        Step("POST /vm/instance/statusupdate destroy", _command("destroy"), _removed("instance")),
        Step("GET /vm/getinstancelist (until gone)", listing, until=_listed_as(None)),
        sshkey_roundtrip(name)[-1],
    ]


@dataclass(frozen=True)
class Scenario:
    does: str  # what it does, for the question asked before it runs
    costs: bool  # whether it costs money on the real service
    steps: Callable[[str, str, str], list[Step]]  # (name, os, plan) -> its steps


SCENARIOS = {
    "sshkey-roundtrip": Scenario(
        "create, read, rename, list and delete an SSH key",
        False,
        lambda name, os, plan: sshkey_roundtrip(name),
    ),
    "firewall-roundtrip": Scenario(
        "create, read, change, list and delete a firewall template",
        False,
        lambda name, os, plan: firewall_roundtrip(name),
    ),
    "instance-lifecycle": Scenario(
        "create an instance, start, stop and destroy it (with an SSH key for it)",
        True,
        instance_lifecycle,
    ),
}


# --- running -----------------------------------------------------------------------------


def run(
    steps: list[Step],
    left: Side,
    right: Side,
    report: Report,
    poll: float = 5.0,
    timeout: float = 900.0,
) -> Op[None]:
    """Ask each step of both sides, left then right, and add the comparison to `report`."""
    for step in steps:
        answers: list[Answer | None] = []
        notes: list[str] = []
        for side in (left, right):
            answer = yield from _one(step, side, poll, timeout, notes)
            answers.append(answer)
        if answers[0] is None and answers[1] is None:
            notes.append("asked of neither side: nothing to ask about")
        elif None in answers:
            missing = "left" if answers[0] is None else "right"
            notes.append(f"not asked of the {missing}: nothing to ask about there")
        item = Compared.of(step.name, answers[0], answers[1])
        item.notes += notes
        report.items.append(item)


def _one(
    step: Step, side: Side, poll: float, timeout: float, notes: list[str]
) -> Op[Answer | None]:
    req = yield from step.build(side)
    if req is None:
        return None
    answer = yield from side.ask(req)
    if step.until is not None:
        start = side.engine.clock()
        while answer.status < 300 and not step.until(side, answer):
            if side.engine.clock() - start > timeout:
                notes.append(f"{side.label}: still waiting after {timeout:g} s; went on")
                break
            yield Sleep(poll)
            answer = yield from side.ask(req)
    if step.after is not None:
        step.after(side, answer)
    return answer
