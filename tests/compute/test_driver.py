"""What the driver interface itself gives its callers: the error of a host that does not
answer (the firewall's port and source reading is tested with the rule engine,
tests/domain/test_firewall_rules.py)."""

from __future__ import annotations

from aiiro.compute.driver import HostUnreachable


def test_a_host_that_does_not_answer_is_named_with_the_reason() -> None:
    exc = HostUnreachable("qemu+ssh://far/system", "no answer within 5 s")
    # The text logged and shown when the host goes silent.
    assert str(exc) == "host qemu+ssh://far/system does not answer: no answer within 5 s"
    assert exc.host == "qemu+ssh://far/system"
    assert exc.reason == "no answer within 5 s"
