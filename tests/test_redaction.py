"""The request log's text of a body (redaction.body_text): read back, it shows what the
full redaction shows, for any bytes; no secret by key name is ever in it."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from aiiro.redaction import SECRET_KEY_PARTS, SECRET_KEYS, body_text, redact_body, shown_body

SECRETS = sorted(SECRET_KEYS)
KEYS = st.sampled_from([*SECRETS, "clientId", "name", "tokenType", "id", "sshKey", "x"])
LEAVES = st.none() | st.booleans() | st.integers() | st.text(max_size=12) | KEYS
VALUES: st.SearchStrategy[Any] = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)


def test_every_secret_key_holds_a_part_the_quick_check_looks_for() -> None:
    assert SECRET_KEY_PARTS == ("ecret", "oken", "assword")
    for key in SECRET_KEYS:
        assert any(part in key for part in SECRET_KEY_PARTS), key


@settings(max_examples=400)
@given(VALUES, st.sampled_from([(",", ":"), (", ", ": "), (",", " :  ")]))
def test_a_json_body_reads_back_as_the_redaction_shows_it(
    value: Any, separators: tuple[str, str]
) -> None:
    raw = json.dumps(value, separators=separators, ensure_ascii=False).encode()
    assert shown_body(body_text(raw)) == redact_body(raw)


@settings(max_examples=400)
@given(VALUES, st.sampled_from(SECRETS), st.sampled_from(["", " ", "\n"]))
def test_no_secret_is_kept(value: Any, key: str, space: str) -> None:
    secret = "Zq9-secret-value"
    body = [value, {key: secret}, {"x": [{key: {"deeper": secret}}]}]
    raw = json.dumps(body, separators=(",", f":{space}")).encode()
    assert secret not in body_text(raw)


@settings(max_examples=400)
@given(st.binary(max_size=80) | st.text(max_size=40).map(str.encode))
def test_any_bytes_read_back_as_the_redaction_shows_them(raw: bytes) -> None:
    assert shown_body(body_text(raw)) == redact_body(raw)


def test_secrets_are_hidden_in_the_text_itself() -> None:
    cases = {
        b'{"clientId": "k1", "clientSecret": "s3cr3t-value"}': '{"clientId": "k1", '
        '"clientSecret": "***"}',
        b'{"accessToken":"t0k3n-value","tokenType":"BearerToken"}': '{"accessToken":"***",'
        '"tokenType":"BearerToken"}',
        b'[{"winPassword" : "Pa55-value"}, {"token": 12345678}]': '[{"winPassword": "***"}, '
        '{"token": "***"}]',
        b'{"importUrl": "https://u:p4ss-value@h.example/i"}': '{"importUrl": '
        '"https://***@h.example/i"}',
        b"client_secret=s3cr3t-value&x=1": '"<30 bytes, not JSON>"',
        b'{"clientSecret" "s3cr3t-value"}': '"<31 bytes, not JSON>"',
        b"": "null",
    }
    for raw, kept in cases.items():
        text = body_text(raw)
        assert text == kept, raw
        for secret in ("s3cr3t-value", "t0k3n-value", "Pa55-value", "12345678", "p4ss-value"):
            assert secret not in text


def test_a_body_too_large_to_keep_is_noted() -> None:
    assert shown_body(body_text(70_000)) == "<70000 bytes, not kept>"
