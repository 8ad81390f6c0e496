"""Signing up and signing in to the control panel: e-mail and password (argon2id).

The account is the same one the API uses (domain/accounts.py); the panel only adds the
e-mail and the password hash to it.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from aiiro.domain import accounts
from aiiro.runtime import Runtime
from aiiro.security import hash_password, verify_password
from aiiro.store.models import Account

MIN_PASSWORD = 8
MAX_PASSWORD = 1024
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
# Checked when the e-mail is unknown, so that a wrong address takes as long as a wrong
# password and does not tell which addresses have accounts.
_DUMMY_HASH: list[str] = []


class PanelProblem(Exception):
    """A refusal shown to the visitor; `key` names the message in the i18n catalogues."""

    def __init__(self, key: str, status: int = 400) -> None:
        super().__init__(key)
        self.key = key
        self.status = status


def normalise_email(email: str) -> str:
    return email.strip().lower()


def sign_up(rt: Runtime, name: str, email: str, password: str) -> int:
    """A new account with a panel login; returns its id."""
    if not rt.settings.signup_open:
        raise PanelProblem("signup.closed", 403)
    name = name.strip()
    email = normalise_email(email)
    if not name or len(name) > 200:
        raise PanelProblem("signup.bad_name")
    if not EMAIL.match(email):
        raise PanelProblem("signup.bad_email")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise PanelProblem("signup.bad_password")
    digest = hash_password(password)
    try:
        with rt.db.write() as s:
            if s.scalar(select(func.count()).where(Account.email == email)):
                raise PanelProblem("signup.email_taken")
            account = accounts.create_account(rt, s, name, email)
            account.password_hash = digest
            return account.id
    except IntegrityError as exc:  # two sign-ups with one address at the same moment
        raise PanelProblem("signup.email_taken") from exc


def sign_in(rt: Runtime, email: str, password: str) -> int:
    """The account id for these credentials; PanelProblem when wrong or disabled."""
    email = normalise_email(email)
    with rt.db.read() as s:
        row = s.execute(
            select(Account.id, Account.password_hash, Account.status).where(Account.email == email)
        ).first()
    if row is None or row.password_hash is None:
        verify_password(password, _dummy_hash())
        raise PanelProblem("signin.bad_credentials", 401)
    # A disabled account answers as a wrong password does, whatever was typed: telling
    # "disabled" for the right password only would tell whoever tries that it is right.
    if not verify_password(password, row.password_hash) or row.status != "active":
        raise PanelProblem("signin.bad_credentials", 401)
    return int(row.id)


def set_password(rt: Runtime, account_id: int, email: str, password: str) -> bool:
    """Give an existing account (e.g. one made by `aiiro admin`) a panel login."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise PanelProblem("signup.bad_password")
    email = normalise_email(email)
    if not EMAIL.match(email):
        raise PanelProblem("signup.bad_email")
    with rt.db.write() as s:
        account = s.get(Account, account_id)
        if account is None:
            return False
        account.email = email
        account.password_hash = hash_password(password)
    return True


def _dummy_hash() -> str:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password("not a password of anyone"))
    return _DUMMY_HASH[0]
