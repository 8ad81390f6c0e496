"""Control-panel sessions and CSRF tokens.

A session is a row in `web_sessions`; the browser holds a random token in an HttpOnly,
SameSite=Lax cookie (Secure over https) and the store keeps only its keyed hash. A session
ends on sign-out, after IDLE of inactivity or MAX_AGE in all (server clock), and at once
when the account is disabled.

Every form carries a CSRF token derived from the cookie it protects: the session token
once signed in, a random pre-session cookie before (so that sign-in and sign-up forms are
protected too). Another site can neither read the cookie nor compute the token.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update

from aiiro.runtime import Runtime
from aiiro.store.models import Account, WebSession

SESSION_COOKIE = "aiiro_session"
PRE_COOKIE = "aiiro_pre"
TOKEN_LENGTH = 43
IDLE = timedelta(hours=24)
MAX_AGE = timedelta(days=7)
# Sliding expiry is written back at most this often, so reading pages stays read-only.
TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class PanelUser:
    """Who is signed in, resolved from the session cookie."""

    account_id: int
    name: str
    email: str
    session_id: int
    csrf: str
    flash: dict[str, Any] | None


def csrf_for(rt: Runtime, cookie_value: str) -> str:
    return rt.hasher.hash(f"panel-csrf:{cookie_value}")


def csrf_matches(rt: Runtime, cookie_value: str | None, sent: str | None) -> bool:
    if not cookie_value or not sent:
        return False
    return hmac.compare_digest(csrf_for(rt, cookie_value), sent)


def new_token(rt: Runtime) -> str:
    return rt.rand.alnum(TOKEN_LENGTH)


def start(rt: Runtime, account_id: int) -> str:
    """A new session for the account; returns the cookie token."""
    token = new_token(rt)
    now = rt.clock.now()
    with rt.db.write() as s:
        s.add(
            WebSession(
                token_hash=rt.hasher.hash(token),
                account_id=account_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + IDLE,
            )
        )
    return token


def lookup(rt: Runtime, token: str | None) -> PanelUser | None:
    """The signed-in user behind a session cookie, or None (unknown, expired, disabled)."""
    if not token or len(token) > 128:
        return None
    now = rt.clock.now()
    with rt.db.read() as s:
        row = s.execute(
            select(WebSession, Account.name, Account.email, Account.status)
            .join(Account, Account.id == WebSession.account_id)
            .where(WebSession.token_hash == rt.hasher.hash(token))
        ).first()
    if row is None:
        return None
    session, name, email, status = row
    if status != "active" or session.expires_at <= now:
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        with rt.db.write() as s:
            s.execute(
                update(WebSession)
                .where(WebSession.id == session.id)
                .values(
                    last_seen_at=now,
                    expires_at=min(now + IDLE, session.created_at + MAX_AGE),
                )
            )
    flash = json.loads(session.flash) if session.flash else None
    return PanelUser(session.account_id, name, email or "", session.id, csrf_for(rt, token), flash)


def end(rt: Runtime, session_id: int) -> None:
    with rt.db.write() as s:
        s.execute(delete(WebSession).where(WebSession.id == session_id))


def end_all(rt: Runtime, account_id: int) -> None:
    with rt.db.write() as s:
        s.execute(delete(WebSession).where(WebSession.account_id == account_id))


def set_flash(
    rt: Runtime,
    session_id: int,
    kind: str,
    text: str,
    code: str = "",
    at: str = "",
    while_busy: bool = False,
) -> None:
    """A message for the next page this session sees (after a redirect). `at` names the
    part of that page it belongs to (shown there, next to the form that caused it; at
    the top when empty). `while_busy`: it tells of a command under way, and goes once
    the instance's live status is no longer busy."""
    value = json.dumps(
        {"kind": kind, "text": text, "code": code, "at": at, "while_busy": while_busy}
    )
    with rt.db.write() as s:
        s.execute(update(WebSession).where(WebSession.id == session_id).values(flash=value))


def clear_flash(rt: Runtime, session_id: int) -> None:
    with rt.db.write() as s:
        s.execute(update(WebSession).where(WebSession.id == session_id).values(flash=None))


def purge_expired(rt: Runtime) -> int:
    with rt.db.write() as s:
        result = s.execute(delete(WebSession).where(WebSession.expires_at <= rt.clock.now()))
        return int(result.rowcount)  # type: ignore[attr-defined]
