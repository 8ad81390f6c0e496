"""Import URLs: the one rule for what createinstance takes and where a download may go.

Two checks, used by the domain and by both compute drivers:

- the text (`split`): http or https, a host, a valid port, at most MAX_LENGTH characters,
  no spaces or control characters. Cheap: createinstance refuses such a URL at once.
- the destination (`destination`): the host's addresses (a literal, or getaddrinfo's
  answer) must all be public. Loopback, link-local (the cloud metadata address
  169.254.169.254 among them), private (RFC 1918, fc00::/7), shared (100.64.0.0/10),
  documentation, multicast, unspecified and reserved addresses are refused, also when an
  IPv6 address carries them (::ffff:127.0.0.1), unless one of the operator's networks
  (AIIRO_IMPORT_ALLOW_NETWORKS) holds them. A name that does not resolve is refused. The
  libvirt download makes this check at every redirect and connects only to the addresses
  it checked; the sim makes it at provisioning.

A refusal's reason is the operator's (logs, /_aiiro/operations): the tenant sees only "The
URL entered is invalid.", which tells nothing about the network behind the host.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import SplitResult, urlsplit

from aiiro.inputs import Network

MAX_LENGTH = 2048
SCHEMES = ("http", "https")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# The kinds of address refused, as ipaddress knows them; the first that applies is named.
_KINDS = {
    "is_loopback": "a loopback address",
    "is_link_local": "a link-local address",
    "is_multicast": "a multicast address",
    "is_unspecified": "an unspecified address",
    "is_reserved": "a reserved address",
    "is_private": "a private address",
}
# A URL's credentials: from "//" to the last "@" before the path (as urlsplit reads it).


class Refused(Exception):
    """The URL may not be fetched. The message says why, for the operator; it names the
    URL only without credentials (`redacted`)."""


def split(url: str) -> SplitResult:
    """The URL's parts, when its text is one createinstance takes; else Refused with the
    rule it breaks, phrased to follow "The importUrl field ..."."""
    if len(url) > MAX_LENGTH:
        raise Refused(f"must be at most {MAX_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise Refused("must not hold spaces or control characters")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises for a port that is not a number in 0-65535
    except ValueError:
        raise Refused("must be a URL") from None
    if parts.scheme.lower() not in SCHEMES:
        raise Refused("must be an http or https URL")
    if not parts.hostname:
        raise Refused("must name a host")
    return parts


def refusal(addr: Address, allowed: Sequence[Network] = ()) -> str | None:
    """Why a download may not connect to this address ("a loopback address"...), or None."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped  # the connection goes to the IPv4 address
    if any(addr.version == net.version and addr in net for net in allowed):
        return None
    for kind, named in _KINDS.items():
        if getattr(addr, kind):
            return named
    if not addr.is_global:  # shared (100.64.0.0/10), and other special-purpose blocks
        return "not a public address"
    # A 6to4 address leads to the IPv4 address inside it. (NAT64's 64:ff9b::/96 and the
    # old IPv4-compatible ::/96 lie in ::/8, refused above as reserved.)
    inner = addr.sixtofour if isinstance(addr, ipaddress.IPv6Address) else None
    if inner is not None:
        why = refusal(inner, allowed)
        if why is not None:
            return f"{why} (as {inner})"
    return None


def resolve(host: str, port: int) -> list[Address]:
    """The host's addresses, in getaddrinfo's order (a literal address is its own)."""
    if is_address(host):
        return [ipaddress.ip_address(host)]
    name = host.rstrip(".").lower()
    if name == "invalid" or name.endswith(".invalid"):  # RFC 6761: never resolves
        raise Refused(f"the name {host} does not resolve")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Refused(f"the name {host} does not resolve ({exc})") from None
    found: list[Address] = []
    for *_, sockaddr in infos:
        addr = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])  # no zone index
        if addr not in found:
            found.append(addr)
    if not found:
        raise Refused(f"the name {host} does not resolve")
    return found


def destination(url: str, allowed: Sequence[Network] = ()) -> tuple[SplitResult, list[Address]]:
    """The URL's parts and its host's addresses, when a download may go there: every
    address must pass (a name with one private address among public ones is refused, as
    the connection could go to any of them)."""
    try:
        parts = split(url)
    except Refused as exc:
        raise Refused(f"the URL {exc}") from None
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    addresses = resolve(host, port)
    for addr in addresses:
        why = refusal(addr, allowed)
        if why is not None:
            shown = host if is_address(host) else f"{host} ({addr})"
            raise Refused(f"{shown} is {why}")
    return parts, addresses


def is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
