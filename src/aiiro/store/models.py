"""Tables. Times are naive UTC datetimes (the Indigo API speaks UTC throughout).

Ids are never reused: every table with an integer id is AUTOINCREMENT on SQLite (which
otherwise hands out a deleted row's id again); PostgreSQL sequences never go back. An id
that once named one tenant's key, instance or session never names another's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


# `__table_args__` of every table with an integer id (see the module docstring).
NEVER_REUSED = {"sqlite_autoincrement": True}


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The account holder's name; Indigo echoes it (with a trailing space) as
    # `instancecreatedbyuser`.
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Tokens issued before this time (server clock, epoch ms) are refused: set when the
    # account is disabled, so enabling it again does not bring old tokens back.
    tokens_after_ms: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # What the operator set of this account's limits (JSON; domain/limits.py), or None.
    limits: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    api_key: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(128))
    # A random value of this key alone, signed into its tokens: a token never verifies
    # for any other key, whatever its id ("" for keys made before it existed).
    token_salt: Mapped[str] = mapped_column(String(32), server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class SshKey(Base):
    __tablename__ = "ssh_keys"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    sshkey: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Instance(Base):
    __tablename__ = "instances"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    instancetype_id: Mapped[int] = mapped_column(Integer, default=1)
    region_id: Mapped[int] = mapped_column(Integer)
    os_id: Mapped[int] = mapped_column(Integer)
    plan_id: Mapped[int] = mapped_column(Integer)
    sshkey_id: Mapped[int] = mapped_column(Integer, default=0)
    snapshot_id: Mapped[int] = mapped_column(Integer, default=0)
    import_url: Mapped[str | None] = mapped_column(Text)
    win_password_hash: Mapped[str | None] = mapped_column(String(200))
    # Lifecycle axis as Indigo shows it: READY (provisioning) -> OPEN.
    status: Mapped[str] = mapped_column(String(16), default="READY")
    # Power axis, aiiro's own state machine (see domain/lifecycle.py).
    power: Mapped[str] = mapped_column(String(24))
    # Import download progress in percent, or None.
    progress: Mapped[int | None] = mapped_column(Integer)
    set_no: Mapped[int] = mapped_column(Integer)
    host_id: Mapped[int] = mapped_column(Integer)
    uuid: Mapped[str | None] = mapped_column(String(36))
    vnc_port: Mapped[int] = mapped_column(Integer, default=0)
    vnc_passwd: Mapped[str] = mapped_column(String(32))
    ipaddress_type: Mapped[str] = mapped_column(String(16))
    ipaddress: Mapped[str | None] = mapped_column(String(64))
    secondary_ip: Mapped[str | None] = mapped_column(String(64))
    macaddress: Mapped[str | None] = mapped_column(String(17))
    arpaname: Mapped[str | None] = mapped_column(String(128))
    arpadate: Mapped[int] = mapped_column(BigInteger, default=0)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Not written: the API shows closed_at as null, the only value ever observed
    # (api/instances.py). Kept so that existing stores need no migration.
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    firewall_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # Set when a destroyed instance has left the list.
    removed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set while the instance's compute host does not answer (domain/reconcile.py): the
    # power state is then the last one known.
    unreachable_since: Mapped[datetime | None] = mapped_column(DateTime)
    # The compute driver's own record (JSON): for sim, the disk model and console state.
    driver_state: Mapped[str] = mapped_column(Text, default="{}")
    # Bumped on every change; used for compare-and-set updates.
    version: Mapped[int] = mapped_column(Integer, default=0)


class IpAddress(Base):
    __tablename__ = "ip_addresses"
    __table_args__ = (UniqueConstraint("region_id", "address"), NEVER_REUSED)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[int] = mapped_column(Integer)
    family: Mapped[int] = mapped_column(Integer)  # 4 or 6
    address: Mapped[str] = mapped_column(String(64))
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)


class Firewall(Base):
    __tablename__ = "firewalls"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)


class FirewallRule(Base):
    __tablename__ = "firewall_rules"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    firewall_id: Mapped[int] = mapped_column(
        ForeignKey("firewalls.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    direction: Mapped[str] = mapped_column(String(3))  # "in" / "out"
    type: Mapped[str] = mapped_column(String(32))
    protocol: Mapped[str] = mapped_column(String(8))
    port: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(64))


class Snapshot(Base):
    __tablename__ = "snapshots"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(255))
    slot_number: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))  # running / created / failed
    size: Mapped[int | None] = mapped_column(BigInteger)
    disk_id: Mapped[int] = mapped_column(Integer)
    volume: Mapped[int] = mapped_column(Integer)
    # The driver's copy of the disk (sim: JSON of the disk model; libvirt: snapshot name).
    driver_state: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)


class Operation(Base):
    """A transition that takes time, run by the engine when due."""

    __tablename__ = "operations"
    __table_args__ = (Index("ix_operations_state_due", "state", "due_at"), NEVER_REUSED)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    snapshot_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text, default="{}")
    due_at: Mapped[datetime] = mapped_column(DateTime)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending/running/done/failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Wall-clock epoch seconds (not the server clock, which a test moves by hours) until
    # which the claim holds: its worker renews it while alive; past it, any worker may
    # take the operation back (engine/operations.py).
    lease_until: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    error: Mapped[str | None] = mapped_column(Text)


class FaultRule(Base):
    """An emulator fault: applies to `operation` with a probability and/or a count."""

    __tablename__ = "fault_rules"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operation: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    params: Mapped[str] = mapped_column(Text, default="{}")
    probability: Mapped[float | None] = mapped_column(Float)
    remaining: Mapped[int | None] = mapped_column(Integer)
    account_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class QuotaWindow(Base):
    """One API key's calendar minute: the requests the quota let through (`count`, at most
    the quota) and those it refused with a 429 (`refused`). Kept for the last few minutes
    (domain/quota.py), for `GET /_aiiro/quota`."""

    __tablename__ = "quota_windows"
    __table_args__ = NEVER_REUSED

    api_key_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # epoch ms
    count: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class KeyValue(Base):
    """Small server-wide state: clock offset, emulator seed, bootstrap facts."""

    __tablename__ = "kv"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class WebSession(Base):
    """A control-panel sign-in. The cookie holds a random token; only its keyed hash is kept."""

    __tablename__ = "web_sessions"
    __table_args__ = NEVER_REUSED

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    # A one-shot message for the next page shown (JSON: kind, text, code).
    flash: Mapped[str | None] = mapped_column(Text)
