"""`aiiro replay`: a recording (recorder.py) sent again, call by call, to another endpoint,
each answer compared with the recorded one (compare.py).

The replay signs in with its own credentials (the token call is sent with them) and sends
each recorded request with the ids the recording's account had replaced by the ids the
replay's account got: an id an answer gave (a created SSH key's, instance's, firewall's;
a listed snapshot's) and the id the replayed answer gave in the same place are taken to
name the same thing, of the same kind (an SSH key's id 1 is not an instance's id 1), and
later paths and bodies carrying the first get the second. Catalogue ids (OS, plan,
region, type) are the service's own and are kept as recorded.
Calls go at the recorded pace (none earlier than it was made after the first), so a
client's polls find the service as far along as they did. A recorded 429 is the client's
pacing against the quota, not a call: it is not replayed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from aiiro.client_core.policy import TOKEN_PATH, Op, Request, Sleep
from aiiro.fidelity.compare import NOT_JSON, Answer, Compared, Report
from aiiro.fidelity.parity import Side, keep_token

# What an id names, by the key it is under (in requests and answers).
KEY_KINDS = {
    "sshKeyId": "sshkey",
    "sshkey_id": "sshkey",
    "instanceId": "instance",
    "instanceid": "instance",
    "instance_id": "instance",
    "instances": "instance",  # a firewall's instances: ["616513"]
    "templateid": "firewall",
    "templateId": "firewall",
    "template_id": "firewall",
    "firewallId": "firewall",
    "snapshotid": "snapshot",
    "snapshotId": "snapshot",
    "snapshot_id": "snapshot",
}
# ... and an `id` by the object it is in.
PARENT_KINDS = {"sshKey": "sshkey", "sshkeys": "sshkey", "vms": "instance"}
# ... and by the path that answered it, or that carries it as its last segment.
ANSWER_KINDS = (
    ("/vm/sshkey", "sshkey"),
    ("/vm/createinstance", "instance"),
    ("/vm/getinstancelist", "instance"),
    ("/nw/", "firewall"),
    ("/disk/snapshotlist/", "snapshot"),
    ("/auth/", "apikey"),
)
SEGMENT_KINDS = (
    ("/vm/sshkey/", "sshkey"),
    ("/nw/gettemplate/", "firewall"),
    ("/nw/deletefirewall/", "firewall"),
    ("/disk/snapshotlist/", "instance"),
    ("/disk/deletesnapshot/", "snapshot"),
    ("/auth/apikey/", "apikey"),
)
# The catalogue's objects: their ids are the service's own, kept as recorded.
CATALOGUE_OBJECTS = frozenset({"os", "instancetype", "instanceTypes", "regionlist", "osCategory"})


def _kind_of(path: str, table: tuple[tuple[str, str], ...]) -> str | None:
    return next((kind for part, kind in table if part in path), None)


class Ids:
    """(kind, recorded id) -> the replay's id for the same thing. Kinds keep an SSH key's
    id 1 apart from an instance's id 1."""

    def __init__(self) -> None:
        self.map: dict[tuple[str, str], str] = {}

    def learn(self, path: str, recorded: Any, actual: Any) -> None:
        """Pair the ids of a recorded answer with those of the replayed one."""
        self._learn(recorded, actual, "", _kind_of(path, ANSWER_KINDS))

    def _learn(self, recorded: Any, actual: Any, key: str, context: str | None) -> None:
        if key in CATALOGUE_OBJECTS:
            return
        if isinstance(recorded, dict) and isinstance(actual, dict):
            inner = PARENT_KINDS.get(key, context)
            for k, v in recorded.items():
                if k in actual:
                    self._learn(v, actual[k], k, inner)
        elif isinstance(recorded, list) and isinstance(actual, list):
            for a, b in zip(recorded, actual, strict=False):
                self._learn(a, b, key, PARENT_KINDS.get(key, context))
        else:
            kind = context if key == "id" else KEY_KINDS.get(key)
            if kind and _digits(recorded) and _digits(actual) and str(recorded) != str(actual):
                self.map.setdefault((kind, str(recorded)), str(actual))

    def path(self, path: str) -> str:
        head, _, last = path.rpartition("/")
        kind = _kind_of(path, SEGMENT_KINDS)
        if kind is None or not last.isdigit():
            return path
        return f"{head}/{self.map.get((kind, last), last)}"

    def value(self, value: Any, key: str) -> Any:
        """A request's value with recorded ids replaced, its JSON type kept."""
        if isinstance(value, dict):
            return {k: self.value(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, key) for v in value]
        kind = KEY_KINDS.get(key)
        if kind and _digits(value):
            now = self.map.get((kind, str(value)))
            if now is not None:
                return int(now) if isinstance(value, int) else now
        return value


def _digits(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and value.isdigit())


def request_for(x: dict[str, Any], ids: Ids, side: Side) -> Request:
    """The recorded request, as the replay sends it."""
    method, path = str(x["method"]), str(x["path"])
    if method == "POST" and path == TOKEN_PATH:
        return side.engine.token_request()
    params = tuple(
        (k, ids.value(v, k)) for k, v in parse_qsl(str(x.get("query", "")), keep_blank_values=True)
    )
    request = x.get("request") or {}
    body = request.get("body")
    if isinstance(body, str) and body.startswith(NOT_JSON):
        body = None
    auth = "authorization" in (request.get("headers") or {})
    return Request(method, ids.path(path), params=params, body=ids.value(body, ""), auth=auth)


def replay(exchanges: list[dict[str, Any]], side: Side, report: Report) -> Op[None]:
    ids = Ids()
    clock = side.engine.clock
    start = clock()
    for x in exchanges:
        # The recorded pace: no call earlier than it was made (the service moved on between
        # a client's polls, and so must the replayed one).
        due = start + float(x.get("at") or 0.0) - clock()
        if due > 0:
            yield Sleep(due)
        name = f"{x['method']} {x['path']}" + (f"?{x['query']}" if x.get("query") else "")
        response = x.get("response") or {}
        recorded = Answer(
            int(x["status"]), dict(response.get("headers") or {}), response.get("body")
        )
        if recorded.status == 429:
            report.items.append(
                Compared.of(
                    name, recorded, None, "a 429 (the quota) in the recording: not replayed"
                )
            )
            continue
        req = request_for(x, ids, side)
        answer = yield from side.ask(req)
        if req.path == TOKEN_PATH:
            keep_token(side, answer)
        else:
            ids.learn(req.path, recorded.body, answer.body)
        report.items.append(Compared.of(name, recorded, answer))
