"""SSH keys: registration rules and storage."""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_ssh_public_key
from sqlalchemy import select
from sqlalchemy.orm import Session

from aiiro.domain import limits, names
from aiiro.domain.errors import (
    MISSING_FIELD,
    SSHKEY_NOT_FOUND,
    IndigoError,
    bad_request,
    invalid,
    not_found,
)
from aiiro.runtime import Runtime
from aiiro.store.models import SshKey

ACTIVE = "ACTIVE"
DEACTIVE = "DEACTIVE"  # sic: the real API's spelling
STATUSES = (ACTIVE, DEACTIVE)
INVALID_SSH_KEY = "I10034"
MIN_RSA_BITS = 1024
MODERN_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521")


def invalid_key() -> IndigoError:
    return bad_request(INVALID_SSH_KEY, "Invalid SSH key.")


def split_comment(text: str) -> tuple[str, str]:
    """A public key's `type base64` and the comment after it ("" when it has none)."""
    parts = text.split()
    return " ".join(parts[:2]), " ".join(parts[2:])


def comments_refused(rt: Runtime) -> bool:
    return rt.settings.sshkey_comments == "reject"


def without_refused_comment(rt: Runtime, text: str) -> tuple[str, str]:
    """What a client should send for `text`, and the comment it took off ("" if none).
    When the server refuses comments (as Indigo does), the key without its comment, as
    `aiiro sshkey create` sends it; otherwise the text as given. The API itself never
    does this: it answers I10034, as Indigo would."""
    key, comment = split_comment(text)
    if comment and comments_refused(rt):
        return key, comment
    return text, ""


def normalise_public_key(rt: Runtime, text: str) -> str:
    """The key as stored, or I10034. RSA is accepted; ed25519/ECDSA only when configured;
    a trailing comment as `sshkey_comments` says."""
    key, comment = split_comment(text)
    if " " not in key or (comment and comments_refused(rt)):
        raise invalid_key()
    kind, blob = key.split(" ")
    if kind != "ssh-rsa" and not (rt.settings.accept_ed25519 and kind in MODERN_TYPES):
        raise invalid_key()
    try:
        raw = base64.b64decode(blob, validate=True)
        public = load_ssh_public_key(key.encode())
    except (ValueError, binascii.Error, TypeError) as exc:
        raise invalid_key() from exc
    if not raw or (isinstance(public, rsa.RSAPublicKey) and public.key_size < MIN_RSA_BITS):
        raise invalid_key()
    return f"{key} {comment}" if comment else key


def _name(name: str) -> str:
    return names.checked("sshName", name)


def create(rt: Runtime, s: Session, account_id: int, name: str, public_key: str) -> SshKey:
    limits.check(rt, s, account_id, "sshkeys")
    now = rt.clock.now().replace(microsecond=0)
    row = SshKey(
        account_id=account_id,
        name=_name(name),
        sshkey=normalise_public_key(rt, public_key),
        status=ACTIVE,
        created_at=now,
        updated_at=now,
    )
    s.add(row)
    s.flush()
    return row


def list_keys(s: Session, account_id: int, status: str | None = None) -> list[SshKey]:
    q = select(SshKey).where(SshKey.account_id == account_id)
    if status is not None:
        q = q.where(SshKey.status == status)
    return list(s.scalars(q.order_by(SshKey.id)))


def get(s: Session, account_id: int, key_id: int | None) -> SshKey:
    row = s.get(SshKey, key_id) if key_id is not None else None
    if row is None or row.account_id != account_id:
        raise not_found(SSHKEY_NOT_FOUND, "SSH key not found.")
    return row


def update(
    rt: Runtime,
    s: Session,
    account_id: int,
    key_id: int | None,
    name: str | None,
    public_key: str | None,
    status: str | None,
) -> SshKey:
    row = get(s, account_id, key_id)
    # Any subset of the three fields may be sent (aiiro's choice), but not none of them:
    # a misspelt field (`sshKeyState`) should not pass for a successful update.
    if name is None and public_key is None and status is None:
        raise bad_request(MISSING_FIELD, "One of sshName, sshKey or sshKeyStatus is required.")
    if status is not None and status not in STATUSES:
        raise invalid("sshKeyStatus", "must be ACTIVE or DEACTIVE")
    if name is not None:
        row.name = _name(name)
    if public_key is not None:
        row.sshkey = normalise_public_key(rt, public_key)
    if status is not None:
        row.status = status
    row.updated_at = rt.clock.now().replace(microsecond=0)
    return row


def delete(s: Session, account_id: int, key_id: int | None) -> None:
    s.delete(get(s, account_id, key_id))


def usable_key(s: Session, account_id: int, key_id: int) -> SshKey | None:
    """An ACTIVE key of the account, for creating an instance."""
    row = s.get(SshKey, key_id)
    if row is None or row.account_id != account_id or row.status != ACTIVE:
        return None
    return row
