"""SSH keys: /webarenaIndigo/v1/vm/sshkey..."""

from __future__ import annotations

from typing import Any

from aiiro.client.lookup import Ref, as_id, pick
from aiiro.client.models import Outcome, SshKey
from aiiro.client.resource import M, Resource, operation
from aiiro.client_core.policy import Call, Engine, Op, Request
from aiiro.client_core.shapes import SSHKEYS

BASE = "/webarenaIndigo/v1/vm/sshkey"
ACTIVE = "ACTIVE"
DEACTIVE = "DEACTIVE"  # sic, the API's spelling


def _keys(body: Any) -> list[SshKey]:
    return [SshKey.from_api(x) for x in SSHKEYS.elements(body)]


def list_call(active_only: bool = False) -> Call[list[SshKey]]:
    path = f"{BASE}/active/status" if active_only else SSHKEYS.path
    return Call(Request("GET", path), _keys)


def get_call(key_id: int) -> Call[SshKey]:
    return Call(Request("GET", f"{BASE}/{key_id}"), SshKey.from_answer)


def create_call(name: str, public_key: str) -> Call[SshKey]:
    body = {"sshName": name, "sshKey": public_key.strip()}
    return Call(Request("POST", BASE, body=body), SshKey.from_answer)


def update_call(key_id: int, name: str, public_key: str, status: str) -> Call[Outcome]:
    # Every client sends all three fields; partial updates are not known to work.
    body = {"sshName": name, "sshKey": public_key, "sshKeyStatus": status}
    return Call(Request("PUT", f"{BASE}/{key_id}", body=body), Outcome.from_api)


def delete_call(key_id: int) -> Call[Outcome]:
    return Call(Request("DELETE", f"{BASE}/{key_id}"), Outcome.from_api)


def get(e: Engine, ref: Ref) -> Op[SshKey]:
    key_id = as_id(ref)
    if key_id is not None:
        return (yield from e.run(get_call(key_id)))
    keys = yield from e.run(list_call())
    return pick(keys, ref, "SSH key", lambda k: k.id, lambda k: [k.name])


def update_op(
    e: Engine,
    ref: Ref,
    name: str | None = None,
    public_key: str | None = None,
    status: str | None = None,
) -> Op[Outcome]:
    current = yield from get(e, ref)
    call = update_call(
        current.id,
        name if name is not None else current.name,
        public_key.strip() if public_key is not None else current.sshkey,
        normalise_status(status) if status is not None else current.status,
    )
    return (yield from e.run(call))


def delete_op(e: Engine, ref: Ref) -> Op[Outcome]:
    key_id = as_id(ref)
    if key_id is None:
        key_id = (yield from get(e, ref)).id
    return (yield from e.run(delete_call(key_id)))


def normalise_status(value: str) -> str:
    """ACTIVE or DEACTIVE (the API's spelling) from what a person may type."""
    v = value.strip().upper()
    return DEACTIVE if v in ("DEACTIVE", "DEACTIVATED", "INACTIVE") else v


class SshKeys(Resource[M]):
    """SSH keys: `indigo.sshkeys`."""

    @operation
    def list(self, active_only: bool = False) -> Op[list[SshKey]]:
        """Every SSH key of the account, or the ACTIVE ones."""
        return self._e.run(list_call(active_only))

    @operation
    def get(self, ref: Ref) -> Op[SshKey]:
        """One key, by id or name."""
        return get(self._e, ref)

    @operation
    def create(self, name: str, public_key: str) -> Op[SshKey]:
        """Register a public key (RSA; Indigo refuses ed25519 and keys with a comment)."""
        return self._e.run(create_call(name, public_key))

    @operation
    def update(
        self,
        ref: Ref,
        *,
        name: str | None = None,
        public_key: str | None = None,
        status: str | None = None,
    ) -> Op[Outcome]:
        """Change some of name, key and status; the others keep their values."""
        return update_op(self._e, ref, name, public_key, status)

    @operation
    def activate(self, ref: Ref) -> Op[Outcome]:
        """Mark a key ACTIVE."""
        return update_op(self._e, ref, status=ACTIVE)

    @operation
    def deactivate(self, ref: Ref) -> Op[Outcome]:
        """Mark a key DEACTIVE (it can no longer be given to new instances)."""
        return update_op(self._e, ref, status=DEACTIVE)

    @operation
    def delete(self, ref: Ref) -> Op[Outcome]:
        """Delete a key, by id or name."""
        return delete_op(self._e, ref)
