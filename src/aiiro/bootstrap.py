"""First start: the schema, the admin token, the first account and its API key."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from aiiro.domain import accounts
from aiiro.runtime import Runtime
from aiiro.store.models import Account, KeyValue

ADMIN_TOKEN_KEY = "admin_token_hash"
FIRST_ACCOUNT_NAME = "aiiro user"


@dataclass
class Bootstrap:
    admin_token: str | None  # set only when generated on this start
    first_account_id: int
    new_key: accounts.NewApiKey | None  # set only when the first account was created now


def kv_get(rt: Runtime, key: str) -> str | None:
    with rt.db.read() as s:
        row = s.get(KeyValue, key)
        return row.value if row else None


def kv_set(rt: Runtime, key: str, value: str) -> None:
    with rt.db.write() as s:
        s.merge(KeyValue(key=key, value=value))


def bootstrap(rt: Runtime) -> Bootstrap:
    rt.db.upgrade()
    admin_token = None
    if rt.settings.admin_token is None and kv_get(rt, ADMIN_TOKEN_KEY) is None:
        admin_token = rt.rand.alnum(40)
        kv_set(rt, ADMIN_TOKEN_KEY, rt.hasher.hash(admin_token))
    with rt.db.write() as s:
        first = s.scalars(select(Account).order_by(Account.id).limit(1)).first()
        new_key = None
        if first is None:
            first = accounts.create_account(rt, s, FIRST_ACCOUNT_NAME)
            new_key = accounts.create_api_key(rt, s, first.id)
        first_id = first.id
    return Bootstrap(admin_token, first_id, new_key)


def check_admin_token(rt: Runtime, token: str) -> bool:
    if rt.settings.admin_token is not None:
        return bool(token) and token == rt.settings.admin_token
    digest = kv_get(rt, ADMIN_TOKEN_KEY)
    return digest is not None and rt.hasher.verify(token, digest)


def write_secret_file(path: Path, api_key: str, api_secret: str) -> None:
    """The seed walkthrough's ~/.webarena_secret format, mode 0600."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f"export IndigoApiKey={api_key}\nexport IndigoApiPrivateKey={api_secret}\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def credentials_for_first_account(rt: Runtime, boot: Bootstrap) -> accounts.NewApiKey:
    """Working credentials of the first account: the ones made on this start, or a fresh
    key (the old secret is stored hashed and cannot be shown again)."""
    if boot.new_key is not None:
        return boot.new_key
    with rt.db.write() as s:
        return accounts.create_api_key(rt, s, boot.first_account_id)
