"""Accounts, API keys and access tokens.

An API key pair (key + secret) is exchanged for a bearer token that lives 3599 s on the
server's clock. Secrets are stored as keyed hashes and shown once; tokens are signed, not
stored.
"""

from __future__ import annotations

import hmac
import itertools
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from aiiro.domain import limits
from aiiro.domain.errors import (
    ACCOUNT_EXISTS,
    APIKEY_NOT_FOUND,
    GatewayError,
    IndigoError,
    not_found,
)
from aiiro.runtime import Runtime
from aiiro.store.models import Account, ApiKey

TOKEN_LIFETIME_S = 3599
TOKEN_LENGTH = 28  # observed: 28 alphanumerics (Apigee's default)
API_KEY_LENGTH = 32
API_SECRET_LENGTH = 16
TOKEN_SALT_LENGTH = 16


@dataclass(frozen=True)
class Caller:
    """Who is calling: resolved from a bearer token."""

    account_id: int
    api_key_id: int
    account_name: str


@dataclass(frozen=True)
class IssuedToken:
    token: str
    issued_ms: int  # server clock, ms since the epoch (the body's `issuedAt`)


@dataclass(frozen=True)
class NewApiKey:
    id: int
    account_id: int
    api_key: str
    api_secret: str
    created_at: datetime


def service_id(account_id: int) -> str:
    """Indigo's customer service id, "idg-" and eight digits."""
    return f"idg-{account_id:08d}"


def invalid_credentials() -> GatewayError:
    return GatewayError(401, "Invalid client credentials.", "Invalid ApiKey or ApiSecret.")


def invalid_token() -> GatewayError:
    return GatewayError(401, "Invalid access token.", "Invalid or expired access token.")


# --- accounts -----------------------------------------------------------------------------


def create_account(rt: Runtime, s: Session, name: str, email: str | None = None) -> Account:
    if email is not None and s.scalar(select(Account.id).where(Account.email == email)):
        raise IndigoError(409, ACCOUNT_EXISTS, "An account with this e-mail address exists.")
    account = Account(name=name, email=email, status="active", created_at=rt.clock.now())
    s.add(account)
    s.flush()
    return account


def list_accounts(s: Session) -> list[Account]:
    return list(s.scalars(select(Account).order_by(Account.id)))


def get_account(s: Session, account_id: int) -> Account | None:
    return s.get(Account, account_id)


def set_account_status(rt: Runtime, s: Session, account_id: int, status: str) -> Account | None:
    """Disabling also ends every token issued so far, for good: enabling the account
    again does not bring them back."""
    account = s.get(Account, account_id)
    if account is None:
        return None
    if status != "active" and account.status == "active":
        account.tokens_after_ms = int(rt.clock.time() * 1000) + 1
    account.status = status
    rt.keys_revoked(s)
    return account


# --- API keys -----------------------------------------------------------------------------


def create_api_key(rt: Runtime, s: Session, account_id: int) -> NewApiKey:
    limits.check(rt, s, account_id, "apikeys")
    secret = rt.rand.alnum(API_SECRET_LENGTH)
    row = ApiKey(
        account_id=account_id,
        api_key=rt.rand.alnum(API_KEY_LENGTH),
        secret_hash=rt.hasher.hash(secret),
        token_salt=rt.rand.alnum(TOKEN_SALT_LENGTH),
        created_at=rt.clock.now(),
    )
    s.add(row)
    s.flush()
    return NewApiKey(row.id, account_id, row.api_key, secret, row.created_at)


def list_api_keys(s: Session, account_id: int) -> list[ApiKey]:
    return list(
        s.scalars(select(ApiKey).where(ApiKey.account_id == account_id).order_by(ApiKey.id))
    )


def delete_api_key(rt: Runtime, s: Session, account_id: int, api_key_id: int) -> None:
    """Deleting a key also revokes the tokens issued for it, the caller's own included."""
    result = s.execute(
        delete(ApiKey).where(ApiKey.id == api_key_id, ApiKey.account_id == account_id)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise not_found(APIKEY_NOT_FOUND, "API key not found.")
    rt.keys_revoked(s)


# --- tokens -------------------------------------------------------------------------------
#
# A token is a signed value, not a stored row: the API key's id (32 bits), the issue time on
# the server clock (48 bits, ms) and a serial number (14 bits), then 72 bits of HMAC over
# them and the key's own random salt: 166 bits, written as the 28 alphanumerics the real
# gateway hands out (62**28 > 2**166). The serial number makes two tokens issued for one key
# in one millisecond differ, as the real gateway's do. Issuing writes nothing and checking
# reads only the key's current state (cached for a few seconds), so a token dies with its
# key (no other key, even one given the same id, has its salt), its account being disabled
# (for good: `tokens_after_ms`), its 3599 s, or a change of the server key.

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_KEY_BITS, _MS_BITS, _SERIAL_BITS, _MAC_BITS = 32, 48, 14, 72
_PAYLOAD_BITS = _KEY_BITS + _MS_BITS + _SERIAL_BITS
_PAYLOAD_BYTES = (_PAYLOAD_BITS + 7) // 8
_TOKEN_BITS = _PAYLOAD_BITS + _MAC_BITS
# Per process, from a random start: two processes that issue a token for one key in the
# same millisecond differ with a chance of 16383 in 16384; one process never repeats itself
# within 16384 tokens.
_SERIALS = itertools.count(secrets.randbelow(1 << _SERIAL_BITS))

_CREDENTIALS = select(
    ApiKey.id,
    ApiKey.account_id,
    ApiKey.secret_hash,
    ApiKey.token_salt,
    Account.status,
    Account.name,
    Account.tokens_after_ms,
).join(Account, Account.id == ApiKey.account_id)


@dataclass(frozen=True)
class _KeyState:
    api_key_id: int
    account_id: int
    secret_hash: str
    token_salt: bytes
    active: bool
    account_name: str
    tokens_after_ms: int


def _key_state(rt: Runtime, column: Any, value: object) -> _KeyState | None:
    """An API key with its account's status, from the cache or the store."""
    cache_key = (column.key, value)
    cached: _KeyState | None = rt.key_cache.get(cache_key)
    if cached is not None:
        return cached
    with rt.db.read() as s:
        row = s.execute(_CREDENTIALS.where(column == value)).first()
    if row is None:
        return None
    state = _KeyState(
        row.id,
        row.account_id,
        row.secret_hash,
        row.token_salt.encode(),
        row.status == "active",
        row.name,
        row.tokens_after_ms,
    )
    # Only usable keys are cached: a key made or an account enabled by another process
    # works at once; a revocation anywhere clears every process's cache.
    if state.active:
        rt.key_cache.put(cache_key, state)
    return state


def _mac(rt: Runtime, payload: int, salt: bytes) -> bytes:
    data = b"token:" + payload.to_bytes(_PAYLOAD_BYTES, "big") + salt
    return rt.hasher.digest(data)[: _MAC_BITS // 8]


# Two base62 digits at a time: half the Python-level steps of a digit loop.
_PAIRS = [a + b for a in _BASE62 for b in _BASE62]
_PAIR_INDEX = {pair: i for i, pair in enumerate(_PAIRS)}


def _encode(n: int) -> str:
    out = []
    for _ in range(TOKEN_LENGTH // 2):
        n, r = divmod(n, 3844)
        out.append(_PAIRS[r])
    out.reverse()
    return "".join(out)


def _decode(token: str) -> int | None:
    if len(token) != TOKEN_LENGTH:
        return None
    n = 0
    for i in range(0, TOKEN_LENGTH, 2):
        r = _PAIR_INDEX.get(token[i : i + 2])
        if r is None:
            return None
        n = n * 3844 + r
    if n >> _TOKEN_BITS:
        return None
    return n


def _usable_key(rt: Runtime, client_id: str, client_secret: str) -> _KeyState | None:
    key = _key_state(rt, ApiKey.api_key, client_id)
    if key is None or not key.active or not rt.hasher.verify(client_secret, key.secret_hash):
        return None
    return key


def credentials_work(rt: Runtime, client_id: str, client_secret: str, account_id: int) -> bool:
    """Whether this key and secret of `account_id` would get a token now."""
    key = _usable_key(rt, client_id, client_secret)
    return key is not None and key.account_id == account_id


def issue_token(rt: Runtime, client_id: str, client_secret: str) -> IssuedToken:
    key = _usable_key(rt, client_id, client_secret)
    if key is None:
        raise invalid_credentials()
    ms = int(rt.clock.time() * 1000)
    serial = next(_SERIALS) & ((1 << _SERIAL_BITS) - 1)
    payload = (((key.api_key_id << _MS_BITS) | ms) << _SERIAL_BITS) | serial
    mac = int.from_bytes(_mac(rt, payload, key.token_salt), "big")
    return IssuedToken(_encode((payload << _MAC_BITS) | mac), ms)


def authenticate(rt: Runtime, token: str) -> Caller:
    """The caller behind a bearer token; 401 (gateway shape) if forged or expired, or if
    its key or account is gone or was disabled after it was issued."""
    verified: tuple[int, int, bytes] | None = rt.key_cache.get(("token", token))
    if verified is None:
        n = _decode(token)
        if n is None:
            raise invalid_token()
        payload, mac = divmod(n, 1 << _MAC_BITS)
        key_id, stamp = divmod(payload, 1 << (_MS_BITS + _SERIAL_BITS))
        key = _key_state(rt, ApiKey.id, key_id)
        signed = mac.to_bytes(_MAC_BITS // 8, "big")
        if key is None or not hmac.compare_digest(signed, _mac(rt, payload, key.token_salt)):
            raise invalid_token()
        verified = (key_id, stamp >> _SERIAL_BITS, key.token_salt)
        # A verified signature stays verified for the key it was verified against.
        rt.key_cache.put(("token", token), verified)
    else:
        key = _key_state(rt, ApiKey.id, verified[0])
    key_id, issued_ms, salt = verified
    now_ms = rt.clock.time() * 1000
    if (
        key is None
        or key.token_salt != salt
        or not key.active
        or issued_ms < key.tokens_after_ms
        or issued_ms + TOKEN_LIFETIME_S * 1000 <= now_ms
    ):
        raise invalid_token()
    return Caller(key.account_id, key.api_key_id, key.account_name)
