"""Typed views of what the API returns, built by `from_api` from the raw JSON.

The quirks of each field (string ids, "" for nothing, the time forms, IPv6 spelling,
`arpaname`'s lost "jp" ...) are absorbed once, in `aiiro.client_core.shapes`; a model here is
its shape with times as naive UTC datetimes, and the untouched JSON as `.raw`. The quirks
of whole answers are absorbed here:
- an instance looks different in the create answer and in the list; both give `Instance`;
- an SSH key comes as an object (create) or a one-element array (retrieve);
- success comes as `sucessCode` (sic), `successCode`, or `{"STATUS":0}`; stop's
  `success:false` + I10025 is an accepted, still-running action (`Outcome.pending`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from aiiro.client_core import shapes
from aiiro.client_core.shapes import as_int, as_str

Raw = dict[str, Any]

STOP_PENDING = "I10025"


def _times(plain: Raw, *names: str) -> Raw:
    """A shape with its "YYYY-MM-DD HH:MM:SS" times as datetimes."""
    return {**plain, **{n: _datetime(plain[n]) for n in names}}


def _datetime(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def to_dict(obj: Any) -> Any:
    """Plain JSON-able data for output: models become dicts (without `raw`), datetimes
    "YYYY-MM-DD HH:MM:SS" — for the kinds in `shapes`, exactly their shape."""
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
class ApiKey:
    id: int
    api_key: str
    created_at: datetime | None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, d: Raw) -> ApiKey:
        return cls(**_times(shapes.apikey(d), "created_at"), raw=d)


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
        return cls(**_times(shapes.sshkey(d), "created_at", "updated_at"), raw=d)

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
        return cls(**shapes.instance_type(d), raw=d)


@dataclass(frozen=True)
class Region:
    id: int
    name: str
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, d: Raw) -> Region:
        return cls(**shapes.region(d), raw=d)


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
        return cls(**shapes.os_image(d), raw=d)


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
        return cls(**shapes.plan(d), raw=d)


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
        """From a list element or from the create answer's `vms` (shapes.instance)."""
        plain = _times(shapes.instance(d), "created_at", "started_at")
        os_raw = d.get("os")
        if isinstance(os_raw, dict):
            plain["os"] = OsImage(**plain["os"], raw=os_raw)
        return cls(**plain, raw=d)


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
        return cls(**_times(shapes.firewall(d), "created_at", "updated_at"), raw=d)


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
        return cls(**_times(shapes.snapshot(d, instance_id), "completed_at"), raw=d)
