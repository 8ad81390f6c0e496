"""Typed views of what the API returns, built by `from_api` from the raw JSON.

This module is the SDK's one home for Indigo's shape quirks; callers see plain values:
- ids and numbers arrive as JSON numbers or strings ("616513", user_id "2130", size
  "1071529984", vps_kind "10") and become ints; "" becomes None;
- timestamps arrive as "YYYY-MM-DD HH:MM:SS" (UTC), as the zero time "0000-00-00 00:00:00",
  or (createinstance only) as a PHP DateTime object; they become naive UTC datetimes or None;
- an instance looks different in the create answer and in the list; both give `Instance`;
- an SSH key comes as an object (create) or a one-element array (retrieve);
- success comes as `sucessCode` (sic), `successCode`, or `{"STATUS":0}`; stop's
  `success:false` + I10025 is an accepted, still-running action (`Outcome.pending`);
- IPv6 addresses come uppercase and zero-padded, and `arpaname` lost its final "jp";
  `instancecreatedbyuser` carries a trailing space.
The untouched JSON stays available as `.raw`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

Raw = dict[str, Any]

ZERO_TIME = "0000-00-00 00:00:00"
STOP_PENDING = "I10025"


def as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    return None


def as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def as_str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def as_time(value: Any) -> datetime | None:
    """Naive UTC datetime from any of the API's time forms."""
    if isinstance(value, dict):
        value = value.get("date")
    if not isinstance(value, str) or not value.strip() or value.startswith(ZERO_TIME[:10]):
        return None
    try:
        # "YYYY-MM-DD HH:MM:SS[.ffffff]"; fromisoformat is C and does not load _strptime.
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=None)


def as_ip(value: Any) -> str | None:
    text = as_str(value)
    if text is None or ":" not in text:
        return text
    import ipaddress

    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return text


def _hostname(value: Any) -> str | None:
    text = as_str(value)
    if text is not None and text.endswith(".arena.ne."):
        return text + "jp"
    return text


def to_dict(obj: Any) -> Any:
    """Plain JSON-able data for output: models become dicts (without `raw`), datetimes
    "YYYY-MM-DD HH:MM:SS"."""
    if isinstance(obj, list | tuple):
        return [to_dict(x) for x in obj]
    if isinstance(obj, datetime):
        return obj.strftime("%Y-%m-%d %H:%M:%S")
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: to_dict(getattr(obj, f.name)) for f in fields(obj) if f.name != "raw"}
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


# --- auth ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_in: int  # seconds, sent as the string "3599"
    issued_at_ms: int | None  # server epoch ms, sent as a string
    expires_at: float  # client clock, seconds since the epoch

    @classmethod
    def from_api(cls, data: Raw, received_at: float) -> Token:
        expires_in = as_int(data.get("expiresIn")) or 3599
        return cls(
            access_token=str(data["accessToken"]),
            expires_in=expires_in,
            issued_at_ms=as_int(data.get("issuedAt")),
            expires_at=received_at + expires_in,
        )


@dataclass(frozen=True)
class ApiKey:
    id: int
    api_key: str
    created_at: datetime | None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, d: Raw) -> ApiKey:
        return cls(
            as_int(d.get("id")) or 0, str(d.get("apiKey", "")), as_time(d.get("created_at")), d
        )


@dataclass(frozen=True)
class NewApiKey:
    """The answer of create: the secret is shown only here."""

    api_key: str
    api_secret: str

    @classmethod
    def from_api(cls, d: Raw) -> NewApiKey:
        return cls(str(d.get("apiKey", "")), str(d.get("apiSecret", "")))


@dataclass(frozen=True)
class SshKey:
    id: int
    name: str
    sshkey: str
    status: str  # ACTIVE or DEACTIVE (sic)
    user_id: int | None
    service_id: str | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @property
    def active(self) -> bool:
        return self.status.upper() == "ACTIVE"

    @classmethod
    def from_api(cls, d: Raw) -> SshKey:
        return cls(
            id=as_int(d.get("id")) or 0,
            name=str(d.get("name", "")),
            sshkey=str(d.get("sshkey", "")),
            status=str(d.get("status", "")),
            user_id=as_int(d.get("user_id")),
            service_id=as_str(d.get("service_id")),
            created_at=as_time(d.get("created_at")),
            updated_at=as_time(d.get("updated_at")),
            raw=d,
        )

    @classmethod
    def from_answer(cls, body: Any) -> SshKey:
        """`sshKey` is an object in the create answer and a one-element array in
        the retrieve answer."""
        value = body.get("sshKey") if isinstance(body, dict) else body
        if isinstance(value, list):
            if not value:
                raise ValueError("empty sshKey array")
            value = value[0]
        if not isinstance(value, dict):
            raise ValueError("no sshKey in the answer")
        return cls.from_api(value)


# --- catalogue ----------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceType:
    id: int
    name: str
    display_name: str
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, d: Raw) -> InstanceType:
        return cls(
            as_int(d.get("id")) or 0, str(d.get("name", "")), str(d.get("display_name", "")), d
        )


@dataclass(frozen=True)
class Region:
    id: int
    name: str
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, d: Raw) -> Region:
        return cls(as_int(d.get("id")) or 0, str(d.get("name", "")), d)


@dataclass(frozen=True)
class OsImage:
    id: int
    name: str  # "Debian12"
    viewname: str  # "Debian 12"
    code: str | None  # the category's base name: "Debian", "WinOS" ...
    category_id: int | None
    instancetype_id: int | None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @property
    def windows(self) -> bool:
        return (self.code or "").lower() == "winos" or self.name.lower().startswith("windows")

    @classmethod
    def from_api(cls, d: Raw) -> OsImage:
        return cls(
            id=as_int(d.get("id")) or 0,
            name=str(d.get("name", "")),
            viewname=str(d.get("viewname") or d.get("name", "")),
            code=as_str(d.get("code")),
            category_id=as_int(d.get("categoryid")),
            instancetype_id=as_int(d.get("instancetype_id")),
            raw=d,
        )


@dataclass(frozen=True)
class OsCategory:
    id: int
    name: str
    images: list[OsImage]
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, d: Raw) -> OsCategory:
        images = [OsImage.from_api(x) for x in d.get("osLists") or [] if isinstance(x, dict)]
        return cls(as_int(d.get("id")) or 0, str(d.get("name", "")), images, d)


@dataclass(frozen=True)
class Plan:
    id: int
    code: str  # "1vCPU768MB20GB"
    resource: str | None  # kvm_resources.name, the instance's `plan`: "1CR768MB"
    name: str  # "Memory768MB,1vCPU,SSD20GB"
    cpus: int | None
    ipaddress_type: str | None
    instancetype_id: int | None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, d: Raw) -> Plan:
        kvm_raw = d.get("kvm_resources")
        kvm: Raw = kvm_raw if isinstance(kvm_raw, dict) else {}
        return cls(
            id=as_int(d.get("id")) or 0,
            code=str(d.get("code") or ""),
            resource=as_str(kvm.get("name")),
            name=str(d.get("name", "")),
            cpus=as_int(kvm.get("limitnum")),
            ipaddress_type=as_str(d.get("ipaddress_type")),
            instancetype_id=as_int(d.get("instancetype_id")),
            raw=d,
        )


# --- instances ----------------------------------------------------------------------

RUNNING = "Running"
STOPPED = "Stopped"
INSTALLING = "OS installation In Progress"


@dataclass(frozen=True)
class Instance:
    id: int
    instance_name: str
    status: str  # lifecycle: READY (provisioning) then OPEN
    # Power/progress text: "OS installation In Progress", "Stopped", "Running", an import's
    # download progress...; None in the create answer, which does not carry it.
    instancestatus: str | None
    ip: str | None
    ipaddress_type: str | None
    plan: str | None  # "1CR768MB"
    plan_id: int | None
    os_id: int | None
    os: OsImage | None
    region: str | None
    sshkey_id: int | None
    snapshot_id: int | None
    cpus: int | None
    memsize: float | None  # GB (0.768 for the 768 MB plan)
    vps_kind: int | None
    user_id: int | None
    service_id: str | None
    macaddress: str | None
    arpaname: str | None
    uuid: str | None
    vnc_port: int | None
    created_by: str | None
    import_instance: bool
    created_at: datetime | None
    started_at: datetime | None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.instance_name

    @property
    def running(self) -> bool:
        return (self.instancestatus or "").lower() == "running"

    @property
    def stopped(self) -> bool:
        return (self.instancestatus or "").lower() == "stopped"

    @property
    def provisioned(self) -> bool:
        return self.status.upper() == "OPEN"

    @classmethod
    def from_api(cls, d: Raw) -> Instance:
        """From a list element or from the create answer's `vms` (whose `vps_kind` is
        the string "10", `created_at` a PHP DateTime object, and which has no
        `instancestatus`, `ip`, `os` or `regionname`)."""
        os_raw = d.get("os")
        return cls(
            id=as_int(d.get("id")) or 0,
            instance_name=str(d.get("instance_name", "")),
            status=str(d.get("status") or ""),
            instancestatus=as_str(d.get("instancestatus")),
            ip=as_ip(d.get("ip")) or as_ip(d.get("ipaddress")),
            ipaddress_type=as_str(d.get("ipaddress_type")),
            plan=as_str(d.get("plan")),
            plan_id=as_int(d.get("plan_id")),
            os_id=as_int(d.get("os_id")),
            os=OsImage.from_api(os_raw) if isinstance(os_raw, dict) else None,
            region=as_str(d.get("regionname")),
            sshkey_id=as_int(d.get("sshkey_id")),
            snapshot_id=as_int(d.get("snapshot_id")),
            cpus=as_int(d.get("cpus")),
            memsize=as_float(d.get("memsize")),
            vps_kind=as_int(d.get("vps_kind")),
            user_id=as_int(d.get("user_id")),
            service_id=as_str(d.get("service_id")),
            macaddress=as_str(d.get("macaddress")),
            arpaname=_hostname(d.get("arpaname")),
            uuid=as_str(d.get("uuid")),
            vnc_port=as_int(d.get("vnc_port")),
            created_by=(as_str(d.get("instancecreatedbyuser")) or "").strip() or None,
            import_instance=bool(as_int(d.get("import_instance"))),
            created_at=as_time(d.get("created_at")),
            started_at=as_time(d.get("started_at")),
            raw=d,
        )


@dataclass(frozen=True)
class Outcome:
    """The answer to an action (statusupdate, firewall and key changes, snapshot calls)."""

    success: bool
    message: str | None
    code: str | None  # `sucessCode` (sic) as sent, e.g. I20008; None for {"STATUS":0}
    instance_status: str | None = None  # "running" / "shutoff" where the API says so
    firewall_id: int | None = None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @property
    def pending(self) -> bool:
        """The action was accepted and goes on in the background (stop's I10025)."""
        return self.code == STOP_PENDING

    @classmethod
    def from_api(cls, d: Any) -> Outcome:
        if not isinstance(d, dict):
            return cls(True, None, None)
        if "STATUS" in d and "success" not in d:
            return cls(as_int(d.get("STATUS")) == 0, None, None, raw=d)
        code = as_str(d.get("sucessCode") or d.get("successCode"))
        # stop answers success:false with I10025 on a 2xx: accepted, still in progress.
        success = bool(d.get("success", True)) or code == STOP_PENDING
        return cls(
            success=success,
            message=as_str(d.get("message")),
            code=code,
            instance_status=as_str(d.get("instanceStatus")),
            firewall_id=as_int(d.get("firewallId")),
            raw=d,
        )


# --- firewalls ----------------------------------------------------------------------


@dataclass(frozen=True)
class Firewall:
    id: int
    name: str
    status: int | None
    user_id: int | None
    service_id: str | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, d: Raw) -> Firewall:
        return cls(
            id=as_int(d.get("id")) or 0,
            name=str(d.get("name", "")),
            status=as_int(d.get("status")),
            user_id=as_int(d.get("user_id")),
            service_id=as_str(d.get("service_id")),
            created_at=as_time(d.get("created_at")),
            updated_at=as_time(d.get("updated_at")),
            raw=d,
        )


@dataclass(frozen=True)
class Rule:
    """One firewall rule. `source` "0.0.0.0" means anywhere; ICMP has port ""."""

    protocol: str
    port: str
    source: str = "0.0.0.0"
    type: str = "Custom"

    def to_api(self) -> dict[str, str]:
        return {
            "type": self.type,
            "protocol": self.protocol,
            "port": self.port,
            "source": self.source,
        }

    @classmethod
    def from_api(cls, d: Raw) -> Rule:
        return cls(
            protocol=str(d.get("protocol", "")),
            port="" if d.get("port") is None else str(d.get("port")),
            source=str(d.get("source") or "0.0.0.0"),
            type=str(d.get("type") or "Custom"),
        )


@dataclass(frozen=True)
class FirewallTemplate:
    """A template with its rules (gettemplate answers one flat array of rules, each
    repeating the template's id and name, with a direction)."""

    id: int
    name: str | None
    inbound: list[Rule]
    outbound: list[Rule]

    @classmethod
    def from_api(cls, template_id: int, rows: Any) -> FirewallTemplate:
        rows = rows if isinstance(rows, list) else []
        name = next((str(r["name"]) for r in rows if isinstance(r, dict) and r.get("name")), None)
        inbound = [Rule.from_api(r) for r in rows if isinstance(r, dict) and _direction(r) == "in"]
        outbound = [
            Rule.from_api(r) for r in rows if isinstance(r, dict) and _direction(r) == "out"
        ]
        return cls(template_id, name, inbound, outbound)


def _direction(row: Raw) -> str:
    return str(row.get("direction", "in")).lower()


# --- snapshots ----------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    id: int
    name: str
    status: str  # running, created, failed
    instance_id: int | None  # not in the API's element; the SDK knows it from the request
    size: int | None  # bytes; the API sends a string, "" while running
    slot_number: int | None
    disk_id: int | None
    volume: int | None
    user_id: int | None  # a string in this endpoint's answer only
    service_id: str | None
    completed_at: datetime | None  # "0000-00-00 00:00:00" until done
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @property
    def created(self) -> bool:
        return self.status.lower() == "created"

    @property
    def failed(self) -> bool:
        return self.status.lower() == "failed"

    @classmethod
    def from_api(cls, d: Raw, instance_id: int | None = None) -> Snapshot:
        return cls(
            id=as_int(d.get("id")) or 0,
            name=str(d.get("name", "")),
            status=str(d.get("status") or ""),
            instance_id=instance_id,
            size=as_int(d.get("size")),
            slot_number=as_int(d.get("slot_number")),
            disk_id=as_int(d.get("disk_id")),
            volume=as_int(d.get("volume")),
            user_id=as_int(d.get("user_id")),
            service_id=as_str(d.get("service_id")),
            completed_at=as_time(d.get("completed_timestamp")),
            raw=d,
        )
