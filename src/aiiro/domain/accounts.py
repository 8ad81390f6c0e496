"""Accounts, API keys and access tokens.

An API key pair (key + secret) is exchanged for a bearer token that lives 3599 s on the
server's clock. Secrets and tokens are stored as keyed hashes; the secret is shown once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm import Session

from aiiro.domain.errors import (
    ACCOUNT_EXISTS,
    APIKEY_NOT_FOUND,
    GatewayError,
    IndigoError,
    not_found,
)
from aiiro.runtime import Runtime
from aiiro.store.models import AccessToken, Account, ApiKey

TOKEN_LIFETIME_S = 3599
TOKEN_LENGTH = 28  # observed: 28 alphanumerics (Apigee's default)
API_KEY_LENGTH = 32
API_SECRET_LENGTH = 16


@dataclass(frozen=True)
class Caller:
    """Who is calling: resolved from a bearer token."""

    account_id: int
    api_key_id: int
    account_name: str


@dataclass(frozen=True)
class IssuedToken:
    token: str
    issued_at: datetime
    expires_at: datetime


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


def set_account_status(s: Session, account_id: int, status: str) -> Account | None:
    account = s.get(Account, account_id)
    if account is None:
        return None
    account.status = status
    if status != "active":
        s.execute(delete(AccessToken).where(AccessToken.account_id == account_id))
    return account


# --- API keys -----------------------------------------------------------------------------


def create_api_key(rt: Runtime, s: Session, account_id: int) -> NewApiKey:
    secret = rt.rand.alnum(API_SECRET_LENGTH)
    row = ApiKey(
        account_id=account_id,
        api_key=rt.rand.alnum(API_KEY_LENGTH),
        secret_hash=rt.hasher.hash(secret),
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
    s.execute(delete(AccessToken).where(AccessToken.api_key_id == api_key_id))
    rt.token_cache.clear()


# --- tokens -------------------------------------------------------------------------------


# Core statements, built once: the token endpoint is the busiest writer (bench/).
_CREDENTIALS = (
    select(ApiKey.api_key, ApiKey.id, ApiKey.account_id, ApiKey.secret_hash, Account.status)
    .join(Account, Account.id == ApiKey.account_id)
    .where(ApiKey.api_key.in_(bindparam("keys", expanding=True)))
)
_INSERT_TOKEN = insert(AccessToken)


def issue_tokens(
    rt: Runtime, s: Session, pairs: Sequence[tuple[str, str]]
) -> list[IssuedToken | GatewayError]:
    """Tokens for several (client_id, client_secret) pairs in one transaction, in order;
    the error in place of each pair whose credentials are wrong. The token endpoint
    gathers concurrent requests into one call (api/token_batch.py): one commit for all."""
    conn = s.connection()
    keys = sorted({client_id for client_id, _ in pairs})
    found = {row.api_key: row for row in conn.execute(_CREDENTIALS, {"keys": keys})}
    now = rt.clock.now()
    expires = now + timedelta(seconds=TOKEN_LIFETIME_S)
    results: list[IssuedToken | GatewayError] = []
    rows: list[dict[str, object]] = []
    for client_id, client_secret in pairs:
        row = found.get(client_id)
        if (
            row is None
            or row.status != "active"
            or not rt.hasher.verify(client_secret, row.secret_hash)
        ):
            results.append(invalid_credentials())
            continue
        token = rt.rand.alnum(TOKEN_LENGTH)
        rows.append(
            {
                "token_hash": rt.hasher.hash(token),
                "api_key_id": row.id,
                "account_id": row.account_id,
                "issued_at": now,
                "expires_at": expires,
            }
        )
        results.append(IssuedToken(token, now, expires))
    if rows:
        conn.execute(_INSERT_TOKEN, rows)
    return results


def issue_token(rt: Runtime, s: Session, client_id: str, client_secret: str) -> IssuedToken:
    result = issue_tokens(rt, s, [(client_id, client_secret)])[0]
    if isinstance(result, GatewayError):
        raise result
    return result


def authenticate(rt: Runtime, token: str) -> Caller:
    """The caller behind a bearer token; 401 (gateway shape) if unknown or expired."""
    digest = rt.hasher.hash(token)
    now = rt.clock.now()
    cached = rt.token_cache.get(digest)
    if cached is not None and cached[1] > now:
        return cached[0]
    with rt.db.read() as s:
        row = s.execute(
            select(
                AccessToken.account_id,
                AccessToken.api_key_id,
                AccessToken.expires_at,
                Account.name,
                Account.status,
            )
            .join(Account, Account.id == AccessToken.account_id)
            .where(AccessToken.token_hash == digest)
        ).first()
    if row is None or row.status != "active" or row.expires_at <= now:
        raise invalid_token()
    caller = Caller(row.account_id, row.api_key_id, row.name)
    rt.token_cache.put(digest, caller, row.expires_at)
    return caller


def purge_expired_tokens(rt: Runtime, s: Session) -> int:
    result = s.execute(delete(AccessToken).where(AccessToken.expires_at <= rt.clock.now()))
    return int(result.rowcount)  # type: ignore[attr-defined]
