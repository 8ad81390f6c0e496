"""The list commands, `aiiro <instance|sshkey|firewall|apikey> list`: written once, run by
typer (cli/client/instance.py, keys.py, firewall.py) and by the dispatcher that answers
the plain ones without typer (cli/client/fast.py).

They print the answer's elements as plain shapes (aiiro.client_core.shapes), which are
what the typed models print as too. Stdlib and aiiro.client_core only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiiro.cli.client.session import Session
from aiiro.client_core import server
from aiiro.client_core.policy import Call, Request
from aiiro.client_core.shapes import LISTS, SSHKEYS, Plain

ACTIVE_SSHKEYS = f"{SSHKEYS.path}/active/status"


def rows(ctx: Session, kind: str, path: str | None = None) -> list[Plain] | None:
    """The elements of a list answer as shapes; None under --dry-run (printed instead)."""
    listing = LISTS[kind]
    body = ctx.call(Call(Request("GET", path or listing.path), _answer))
    if body is None:
        return None
    return [listing.shape(x) for x in listing.elements(body)]


def _answer(body: Any) -> Any:
    return body


def instances(ctx: Session) -> None:
    """List instances."""
    _show(ctx, "instance")


def sshkeys(ctx: Session, active: bool = False) -> None:
    """List SSH keys."""
    _show(ctx, "sshkey", ACTIVE_SSHKEYS if active else None)


def apikeys(ctx: Session) -> None:
    """List API keys (secrets are never listed)."""
    _show(ctx, "apikey")


def firewalls(ctx: Session) -> None:
    """List templates (and the instances they are assigned to, where the server says)."""
    found = rows(ctx, "firewall")
    if found is None:
        return
    held = ctx.run(server.assignments(ctx.engine))
    if held is None:  # the Indigo API never says (docs/client.md)
        ctx.show(found, "firewall")
        return
    table = ctx.opts.output == "table"
    names: dict[int, str] = {}
    if table and held:
        names = {i["id"]: i["instance_name"] for i in rows(ctx, "instance") or []}
    for row in found:
        ids = sorted(i for i, t in held.items() if t == row["id"])
        row["instances"] = ", ".join(names.get(i, str(i)) for i in ids) or "none" if table else ids
    ctx.show(found, "assigned-firewall")


def _show(ctx: Session, kind: str, path: str | None = None) -> None:
    found = rows(ctx, kind, path)
    if found is not None:
        ctx.show(found, kind)


# What the dispatcher serves: `aiiro KIND list` with the shared options alone.
COMMANDS: dict[str, Callable[[Session], None]] = {
    "instance": instances,
    "sshkey": sshkeys,
    "firewall": firewalls,
    "apikey": apikeys,
}
