"""What the compute driver is told of an instance (domain/specs.py): never another
tenant's SSH key, whatever its key id has come to point at."""

from __future__ import annotations

from aiiro.domain.specs import spec_of
from aiiro.runtime import Runtime
from aiiro.store.models import Instance, SshKey
from tests.api.instance_helpers import create_id, register_key
from tests.conftest import Account


def test_the_driver_gets_the_owners_key_and_never_another_tenants(
    rt: Runtime, alice: Account, bob: Account
) -> None:
    iid = create_id(alice, register_key(alice, "alices"))
    bobs = register_key(bob, "bobs")
    with rt.db.read() as s:
        inst = s.get(Instance, iid)
        assert inst is not None
        own = s.get(SshKey, inst.sshkey_id)
        assert own is not None
        assert spec_of(rt, s, inst).ssh_public_key == own.sshkey
    with rt.db.write() as s:
        inst = s.get(Instance, iid)
        assert inst is not None
        inst.sshkey_id = bobs  # as if the id had come to name Bob's key
    with rt.db.read() as s:
        inst = s.get(Instance, iid)
        assert inst is not None
        assert spec_of(rt, s, inst).ssh_public_key is None
