"""The import URL's rule (compute/import_url.py): the text createinstance takes, and the
addresses a download may connect to."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from aiiro.compute import import_url
from aiiro.compute.import_url import Refused
from aiiro.inputs import parse_networks, redacted


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "must be an http or https URL"),
        ("ftp://mirror.example.org/x.qcow2", "must be an http or https URL"),
        ("gopher://127.0.0.1:25/", "must be an http or https URL"),
        ("example.com/a.qcow2", "must be an http or https URL"),
        ("not a url", "must not hold spaces or control characters"),
        ("https://example.com/a\nb", "must not hold spaces or control characters"),
        ("https:///a.qcow2", "must name a host"),
        ("https://example.com:99999/a", "must be a URL"),
        ("https://[::1/a", "must be a URL"),
        ("https://example.com/" + "a" * 2029, "must be at most 2048 characters"),
    ],
)
def test_text_that_createinstance_refuses(url: str, why: str) -> None:
    with pytest.raises(Refused) as refused:
        import_url.split(url)
    assert str(refused.value) == why


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/CentOS7.qcow2",
        "HTTP://Example.com:8080/a.img?x=1",
        "https://user:secret@images.example.com/a.qcow2",
        "http://[2001:db8::1]/a.qcow2",
        "https://example.com/" + "a" * 2028,  # 2048 characters
    ],
)
def test_text_that_createinstance_takes(url: str) -> None:
    assert import_url.split(url).hostname


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("169.254.169.254", "a link-local address"),  # the cloud metadata service
        ("fe80::1", "a link-local address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd00:ec2::254", "a private address"),
        ("100.64.0.1", "not a public address"),  # shared address space (carrier NAT)
        ("192.0.2.10", "a private address"),  # documentation
        ("224.0.1.1", "a multicast address"),
        ("ff0e::1", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("240.0.0.1", "a reserved address"),
        ("::ffff:127.0.0.1", "a loopback address"),  # IPv4-mapped: connects to 127.0.0.1
        ("::ffff:169.254.169.254", "a link-local address"),
        ("64:ff9b::a9fe:a9fe", "a reserved address"),  # NAT64, to 169.254.169.254
        ("2002:7f00:1::1", "a loopback address (as 127.0.0.1)"),  # 6to4
        ("::7f00:1", "a reserved address"),  # IPv4-compatible, to 127.0.0.1
    ],
)
def test_addresses_that_are_refused(address: str, why: str) -> None:
    assert import_url.refusal(ipaddress.ip_address(address)) == why


@pytest.mark.parametrize("address", ["1.1.1.1", "93.184.215.14", "2606:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert import_url.refusal(ipaddress.ip_address(address)) is None


def test_the_operator_may_allow_networks() -> None:
    allowed = parse_networks("127.0.0.0/8, 10.20.0.0/16,fd00::/8")
    assert import_url.refusal(ipaddress.ip_address("127.0.0.1"), allowed) is None
    assert import_url.refusal(ipaddress.ip_address("::ffff:127.0.0.1"), allowed) is None
    assert import_url.refusal(ipaddress.ip_address("10.20.3.4"), allowed) is None
    assert import_url.refusal(ipaddress.ip_address("fd00::5"), allowed) is None
    assert import_url.refusal(ipaddress.ip_address("10.21.0.1"), allowed) == "a private address"
    assert import_url.refusal(ipaddress.ip_address("::1"), allowed) == "a loopback address"
    assert parse_networks("") == ()
    with pytest.raises(ValueError):
        parse_networks("10.0.0/8x")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://[::ffff:10.0.0.1]:8080/a", "::ffff:10.0.0.1 is a private address"),
        ("https://images.invalid/a.qcow2", "the name images.invalid does not resolve"),
        ("https://u:pw@10.0.0.1/a", "10.0.0.1 is a private address"),
        ("file:///etc/passwd", "the URL must be an http or https URL"),
        ("ftp://u:pw@example.org/a", "the URL must be an http or https URL"),
    ],
)
def test_destinations_that_are_refused(url: str, why: str) -> None:
    with pytest.raises(Refused) as refused:
        import_url.destination(url)
    assert str(refused.value) == why


def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    with pytest.raises(Refused) as refused:
        import_url.destination("http://localhost:8080/a.qcow2")  # /etc/hosts, no DNS
    assert str(refused.value).startswith("localhost (")
    assert str(refused.value).endswith(") is a loopback address")


def test_one_private_address_among_public_ones_is_refused(monkeypatch: Any) -> None:
    def lookup(host: str, port: int, *args: Any, **kw: Any) -> list[Any]:
        assert (host, port) == ("images.test", 443)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("1.1.1.1", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    with pytest.raises(Refused) as refused:
        import_url.destination("https://images.test/a.qcow2")
    assert str(refused.value) == "images.test (10.0.0.7) is a private address"
    parts, addresses = import_url.destination(
        "https://images.test/a.qcow2", parse_networks("10.0.0.0/24")
    )
    assert addresses == [ipaddress.ip_address("1.1.1.1"), ipaddress.ip_address("10.0.0.7")]
    assert parts.hostname == "images.test"


def test_a_name_that_does_not_resolve_is_refused(monkeypatch: Any) -> None:
    def lookup(*args: Any, **kw: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    with pytest.raises(Refused) as refused:
        import_url.destination("https://images.test/a.qcow2")
    assert str(refused.value) == (
        "the name images.test does not resolve ([Errno -2] Name or service not known)"
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://user:pass@host.example/a", "https://***@host.example/a"),
        ("https://user:p@ss@host.example/a?x=@y", "https://***@host.example/a?x=@y"),
        ("see http://a:b@c/ and ftp://d@e", "see http://***@c/ and ftp://***@e"),
        ("https://host.example/a?next=me@there", "https://host.example/a?next=me@there"),
        ("no URL here: a@b", "no URL here: a@b"),
    ],
)
def test_credentials_are_redacted_from_text(text: str, shown: str) -> None:
    assert redacted(text) == shown
