"""Boot checks: does a started instance really answer?

After a snapshot restore an Indigo instance can hang at the GRUB prompt while the API
reports it Running. The API cannot tell; only the guest can. A boot check is an op
`check(engine, instance) -> "up" | "waiting" | "hung"`, polled until it says "up"; "hung"
(only a check that can see the console knows) or a timeout means the boot needs curing:

- `tcp_check(22)`: a TCP connection to the instance's address on that port succeeds
  (the default against the real service: a Linux guest that booted runs sshd);
- `aiiro_probe(admin_token)`: an aiiro server's admin probe, which knows whether the
  (simulated or real) guest answers — for aiiro, whose sim addresses cannot be reached;
- `function_check(fn)`: any `fn(instance) -> bool` of your own (run in a thread by the
  async client).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any, Literal

from aiiro.client.models import Instance
from aiiro.client_core.policy import Blocking, Engine, Http, Op

BootState = Literal["up", "waiting", "hung"]
BootCheck = Callable[[Engine, Instance], Op[BootState]]


def _connects(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tcp_check(port: int = 22, timeout: float = 3.0) -> BootCheck:
    def check(e: Engine, inst: Instance) -> Op[BootState]:
        if not inst.ip:
            return "waiting"
        ip = inst.ip
        ok = yield Blocking(lambda: _connects(ip, port, timeout))
        return "up" if ok else "waiting"

    check.__doc__ = f"tcp:{port}"
    return check


def function_check(fn: Callable[[Instance], bool]) -> BootCheck:
    def check(e: Engine, inst: Instance) -> Op[BootState]:
        ok = yield Blocking(lambda: fn(inst))
        return "up" if ok else "waiting"

    return check


PROBE_PATH = "/_aiiro/instances/{id}/probe"
# A documentation address (RFC 5737) as the probe's source: the question is whether the
# guest answers, not whether this source may pass the firewall.
PROBE_SOURCE = "192.0.2.10"


def aiiro_probe(admin_token: str, port: int = 22, protocol: str = "TCP") -> BootCheck:
    """Ask an aiiro server whether the guest answers, is still booting, or hangs.

    The probe (POST /_aiiro/instances/{id}/probe) answers whether a packet would be
    admitted, and why not: a guest that does not answer gives a reason saying "nothing
    answers" (and "GRUB" when it hangs there); a refusal by the firewall still means the
    guest is up. An `answers` field, when the server sends one, is used as is.
    """

    def check(e: Engine, inst: Instance) -> Op[BootState]:
        body = {"source": PROBE_SOURCE, "port": port, "protocol": protocol}
        reply = yield Http(
            "POST",
            e.endpoint + PROBE_PATH.format(id=inst.id),
            {
                "Authorization": f"Bearer {admin_token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            json.dumps(body).encode(),
            e.timeout,
        )
        data: Any = reply.json() if reply.status < 400 else None
        if not isinstance(data, dict):
            return "waiting"
        reason = str(data.get("reason") or "")
        if "GRUB" in reason:
            return "hung"
        if "answers" in data:
            return "up" if data["answers"] else "waiting"
        up = bool(data.get("admitted")) or "nothing answers" not in reason
        return "up" if up else "waiting"

    return check
