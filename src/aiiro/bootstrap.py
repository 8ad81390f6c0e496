"""First start: the schema, the admin token, the first account and its API key."""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from aiiro.domain import accounts
from aiiro.runtime import Runtime
from aiiro.store.kv import kv_get, kv_set
from aiiro.store.models import Account

ADMIN_TOKEN_KEY = "admin_token_hash"
FIRST_ACCOUNT_NAME = "aiiro user"


@dataclass
class Bootstrap:
    admin_token: str | None  # set only when generated on this start
    first_account_id: int
    new_key: accounts.NewApiKey | None  # set only when the first account was created now


def bootstrap(rt: Runtime) -> Bootstrap:
    rt.db.upgrade()
    admin_token = None
    if rt.settings.admin_token is None and kv_get(rt.db, ADMIN_TOKEN_KEY) is None:
        admin_token = rt.rand.alnum(40)
        kv_set(rt.db, ADMIN_TOKEN_KEY, rt.hasher.hash(admin_token))
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
        return bool(token) and hmac.compare_digest(token.encode(), rt.settings.admin_token.encode())
    digest = kv_get(rt.db, ADMIN_TOKEN_KEY)
    return digest is not None and rt.hasher.verify(token, digest)


CREDENTIALS_FILE = "webarena_secret"
ADMIN_TOKEN_FILE = "admin_token"


def write_private(path: Path, text: str) -> None:
    """A file for its owner alone (0600), parent directories made as needed."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def write_secret_file(path: Path, api_key: str, api_secret: str, endpoint: str) -> None:
    """The seed walkthrough's ~/.webarena_secret format, mode 0600, with the endpoint that
    the key belongs to (AIIRO_ENDPOINT, read by the `aiiro` CLI and the SDK), so that
    `source FILE` points every client at this server rather than the real service."""
    write_private(
        path,
        f"export IndigoApiKey={api_key}\n"
        f"export IndigoApiPrivateKey={api_secret}\n"
        f"export AIIRO_ENDPOINT={endpoint}\n",
    )


def first_account_credentials(rt: Runtime, boot: Bootstrap, path: Path) -> bool:
    """Keep working credentials of the first account in `path`: the key made on this
    start, else the key already in the file while it still works, else a fresh key (old
    secrets are stored hashed and cannot be shown again). The endpoint is written each
    time (the port may have changed). True when a key was made for the file alone."""
    from aiiro.client_core.config import read_secret_file

    key = boot.new_key
    if key is None:
        old = read_secret_file(str(path.expanduser()))
        api_key, secret = old.get("IndigoApiKey", ""), old.get("IndigoApiPrivateKey", "")
        if accounts.credentials_work(rt, api_key, secret, boot.first_account_id):
            write_secret_file(path, api_key, secret, rt.settings.base_url)
            return False
        with rt.db.write() as s:
            key = accounts.create_api_key(rt, s, boot.first_account_id)
    write_secret_file(path, key.api_key, key.api_secret, rt.settings.base_url)
    return boot.new_key is None
