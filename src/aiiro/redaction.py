"""What must not be kept, and how it is hidden: one home for the request log's redaction
and the recorder's (`aiiro record`).

Two degrees:
- `redact` (the request log, `/_aiiro/requests`): credentials only — secrets by key name,
  the credentials of URLs, authorization headers. A test server's log shows the rest, as
  the person reading it made it.
- `Scrubber` (recordings of the real service, made to be attached to a bug report): also
  what identifies a person or their machines — API keys, names, SSH public keys, IP and MAC
  addresses — and every credential the recording has seen, wherever it turns up again (a
  token echoed in a message, a secret in a query string). It keeps each value's JSON type
  and gives each distinct hidden value the same stand-in everywhere (names `name-1`,
  addresses from the documentation ranges, one stand-in RSA key), so a recording keeps its
  shape and can be replayed (`aiiro replay`).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiiro.inputs import BadInput, load_json, redacted

SECRET_KEYS = frozenset(
    {
        "clientSecret",
        "client_secret",
        "apiSecret",
        "accessToken",
        "access_token",
        "winPassword",
        "password",
        "token",
        "adminToken",
    }
)
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
REDACTED = "***"


def redact(value: Any) -> Any:
    """Secrets by key name, and the credentials of any URL in a string (an importUrl of
    https://user:pass@host/ is kept as https://***@host/)."""
    if isinstance(value, dict):
        return {k: (REDACTED if k in SECRET_KEYS else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redacted(value)
    return value


def redact_query(query: str) -> str:
    """The query string with the same redaction as bodies; as sent when there is nothing
    to hide."""
    pairs = parse_qsl(query, keep_blank_values=True)
    hidden = [(k, REDACTED if k in SECRET_KEYS else redacted(v)) for k, v in pairs]
    return query if hidden == pairs else urlencode(hidden, safe="*")


def redact_body(raw: bytes | int) -> Any:
    if isinstance(raw, int):
        return f"<{raw} bytes, not kept>"
    if not raw:
        return None
    try:
        return redact(load_json(raw))
    except BadInput:  # also bodies nested too deep or holding lone surrogates
        return f"<{len(raw)} bytes, not JSON>"


# Every secret key's name holds one of these: a body with none of them holds no secret
# by name (tests/test_redaction.py checks the list against SECRET_KEYS).
SECRET_KEY_PARTS = ("ecret", "oken", "assword")


def body_text(raw: bytes | int) -> str:
    """A body as the request log keeps it: JSON text that `shown_body` reads back as what
    `redact_body` shows, made without parsing the common body. In a body without
    backslashes the JSON strings are every other piece between two quotes: a body with no
    "@" (no URL credentials), and no secret key's name but as a key holding a string
    (hidden in place), is kept as sent. Such a text may not be JSON at all; it then holds
    nothing the log hides, and is shown as a note (`shown_body`).

    (Text, not bytes, is searched: `b"x" in some_bytes` first tries the needle as an
    integer and raises and clears an exception each time.)"""
    if isinstance(raw, bytes) and raw:
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            text = ""
        if text and "\\" not in text and "@" not in text and "\x00" not in text:
            if not _names_a_secret(text):
                return text
            hidden = _hidden_in_place(text)
            if hidden is not None:
                return hidden
    return json.dumps(redact_body(raw))


def _names_a_secret(text: str) -> bool:
    ecret, oken, assword = SECRET_KEY_PARTS
    return ecret in text or oken in text or assword in text


def _hidden_in_place(text: str) -> str | None:
    """`text` (no backslashes) with the string of every secret key replaced by ***; None
    where that is not the whole redaction (a secret key holding another value, a part of
    a secret key's name outside a string, quotes that do not pair)."""
    pieces = text.split('"')
    if len(pieces) % 2 == 0:
        return None
    if _names_a_secret('"'.join(pieces[::2])):  # (no name holds a quote)
        return None
    for i in range(1, len(pieces), 2):
        if pieces[i] in SECRET_KEYS:
            if i + 2 >= len(pieces) or pieces[i + 1].strip() != ":":
                return None
            pieces[i + 2] = REDACTED
    return '"'.join(pieces)


def shown_body(text: str) -> Any:
    """What `body_text` kept, as shown."""
    try:
        return load_json(text.encode())
    except BadInput:
        return f"<{len(text.encode())} bytes, not JSON>"


def hidden_header(name: str, value: str) -> str:
    """A secret header's value as shown: the scheme kept ("Bearer ***", which tells a
    wrong header from a wrong token), the rest hidden."""
    scheme, sep, _ = value.partition(" ")
    return f"{scheme} {REDACTED}" if sep and name.endswith("authorization") else REDACTED


def redact_headers(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        out[name] = hidden_header(name, value) if name in SECRET_HEADERS else value
    return out


# --- recordings --------------------------------------------------------------------------

# Keys whose values are credentials in a recording: the request log's, the API key itself
# (the token request's clientId, createapikey's apiKey), which names the account, and an
# instance's VNC password.
CREDENTIAL_KEYS = SECRET_KEYS | {
    "clientId",
    "client_id",
    "apiKey",
    "api_key",
    "apikey",
    "code",
    "vnc_passwd",
}
# Keys whose values name a person or their things (the catalogue's names go too: a
# recording loses nothing by it, and a list of keys to keep would be one to forget).
NAME_KEYS = frozenset(
    {
        "name",
        "sshName",
        "sshname",
        "instance_name",
        "instanceName",
        "host_name",
        "hostname",
        "label",
        "memo",
        "comment",
        "email",
        "mail",
        "user_name",
        "username",
        "instancecreatedbyuser",  # the account holder's name
        "arpaname",  # the reverse name, which spells the address out
        "service_id",
        "uuid",
        "VEID",
    }
)
# A public key stands in for every SSH key: valid RSA (so a replay can create it), made
# for this purpose, its private half thrown away.
STAND_IN_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDGHGMpha12W1TA6I3LYX6t0sZE9pNyrIiwmCST58+wxTUZAnvl"
    "uSyMv8AbuECZTXSXxr2eojo3fOwCUDAOU0/hDzz+v704e/2nOK0txpR2Li3iuLzNWzmoe+jHJ7mJyTVk3EIiiY1n"
    "JosAyN3G2jp0S62PCcVpGv4bL8I0KccEEghu1Yv4NxEd44j4oQ8WRH2ATZtR6Bjdci9KbB6ZGfouPuH1TVJwb+rgp"
    "jyDPqHlIELD0La2E7nFsqD1OfjocTBXEA9E+jw5MMiOZeKEBxURmNtK5eYvGM/VNth9q0ifQOsT35/3K35eAjicTK"
    "nTQVUN109824bAX1be81dEmOpd"
)
# Learned credentials shorter than this are not searched for in other text (a one-letter
# "secret" would hide every such letter); real keys, secrets and tokens are far longer.
MIN_LEARNED = 6

_SSH_KEY = re.compile(r"(?:ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+)\s+AAAA[\w+/=]+")
_MAC = re.compile(r"(?i)\b[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}\b")
# Candidates for addresses: validated by `ipaddress` before anything is replaced.
_IPV4 = re.compile(r"(?<!\w)(?<!\d\.)\d{1,3}(?:\.\d{1,3}){3}(?!\w)(?!\.\d)")
# An IPv4 address as a reverse name spells it: 164-70-124-240.pro.static.arena.ne.jp
_DASHED_IPV4 = re.compile(r"(?<![\w-])\d{1,3}(?:-\d{1,3}){3}(?=\.)")
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,8}(?![\w:])")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[\w.~+/=-]+")
# Addresses that identify nobody, kept as they are (firewall rules mean them).
_KEPT_ADDRESSES = frozenset({"0.0.0.0", "::"})
# The stand-ins: documentation ranges (RFC 5737, RFC 9637). Not 2001:db8::/32, which the
# sim driver gives instances: a stand-in must never be a recorded address.
V4_RANGES = ("192.0.2.0", "198.51.100.0", "203.0.113.0")
V6_RANGE = "3fff::"


class Scrubber:
    """Hides what a recording must not keep (module doc). `learn` what a credential is as
    soon as it is seen (the token request's clientId/clientSecret, an answer's accessToken,
    a bearer token); `scrub` hides it, and all else this module hides, in any JSON value."""

    def __init__(self) -> None:
        self.secrets: set[str] = set()
        self._names: dict[str, str] = {}
        self._addresses: dict[str, str] = {}
        self._macs: dict[str, str] = {}

    # -- learning ------------------------------------------------------------------------

    def learn(self, value: Any) -> None:
        """Remember the credentials in a JSON value (by key name), to hide them anywhere."""
        if isinstance(value, dict):
            for k, v in value.items():
                if k in CREDENTIAL_KEYS:
                    self._learn_leaves(v)
                else:
                    self.learn(v)
        elif isinstance(value, list):
            for v in value:
                self.learn(v)

    def learn_text(self, text: str) -> None:
        """Remember one credential (a header's token, a query parameter's value)."""
        if len(text) >= MIN_LEARNED:
            self.secrets.add(text)

    def learn_header(self, name: str, value: str) -> None:
        if name.lower() in SECRET_HEADERS:
            scheme, sep, rest = value.strip().partition(" ")
            self.learn_text(rest.strip() if sep else scheme)

    def learn_query(self, query: str) -> None:
        for k, v in parse_qsl(query, keep_blank_values=True):
            if k in CREDENTIAL_KEYS:
                self.learn_text(v)

    def _learn_leaves(self, value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                self._learn_leaves(v)
        elif isinstance(value, list):
            for v in value:
                self._learn_leaves(v)
        elif isinstance(value, str | int) and not isinstance(value, bool):
            self.learn_text(str(value))

    # -- hiding --------------------------------------------------------------------------

    def scrub(self, value: Any, key: str = "") -> Any:
        """A JSON value with everything hidden that a recording must not keep; types kept."""
        if key in CREDENTIAL_KEYS:
            return _stand_in(value)
        if isinstance(value, dict):
            return {self.text(k): self.scrub(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(v, key) for v in value]
        if isinstance(value, str):
            if key in NAME_KEYS and value:
                return self._name(value)
            return self.text(value)
        return value

    def text(self, text: str) -> str:
        """A string with credentials, SSH keys, URL credentials and addresses hidden."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
        if _SSH_KEY.search(text):
            return STAND_IN_KEY
        text = redacted(text)
        text = _MAC.sub(lambda m: self._mac(m.group(0)), text)
        text = _IPV4.sub(lambda m: self._address(m.group(0)), text)
        text = _DASHED_IPV4.sub(
            lambda m: self._address(m.group(0).replace("-", ".")).replace(".", "-"), text
        )
        return _IPV6.sub(lambda m: self._address(m.group(0)), text)

    def query(self, query: str) -> str:
        pairs = parse_qsl(query, keep_blank_values=True)
        hidden = [
            (self.text(k), REDACTED if k in CREDENTIAL_KEYS else self.text(v)) for k, v in pairs
        ]
        return urlencode(hidden, safe="*:/")

    def headers(self, headers: Mapping[str, str], kept: Iterable[str]) -> dict[str, str]:
        """The headers named in `kept` (lower case), secret ones shown by scheme only."""
        wanted = set(kept)
        out: dict[str, str] = {}
        for name, value in headers.items():
            low = name.lower()
            if low not in wanted:
                continue
            out[low] = hidden_header(low, value) if low in SECRET_HEADERS else self.text(value)
        return out

    def _name(self, value: str) -> str:
        if value not in self._names:
            self._names[value] = f"name-{len(self._names) + 1}"
        return self._names[value]

    def _mac(self, value: str) -> str:
        low = value.lower()
        if low not in self._macs:
            n = len(self._macs) + 1
            self._macs[low] = f"02:00:00:00:{n // 256 % 256:02x}:{n % 256:02x}"
        return self._macs[low]

    def _address(self, text: str) -> str:
        """A documentation address (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24; 3fff::/20)
        for each distinct address; text that is no address is left as it is."""
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return text
        shown = str(address)
        if shown in _KEPT_ADDRESSES:
            return text
        if shown not in self._addresses:
            n = len(self._addresses)
            if address.version == 4:
                base = ipaddress.ip_address(V4_RANGES[n // 254 % len(V4_RANGES)])
                self._addresses[shown] = str(base + n % 254 + 1)
            else:
                self._addresses[shown] = str(ipaddress.ip_address(V6_RANGE) + n + 1)
        return self._addresses[shown]


def _stand_in(value: Any) -> Any:
    """A hidden value of the same JSON type (containers keep their shape)."""
    if isinstance(value, dict):
        return {k: _stand_in(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stand_in(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return 0
    if isinstance(value, float):
        return 0.0
    return REDACTED
