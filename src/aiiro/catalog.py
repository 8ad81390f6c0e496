"""The catalogue (instance types, regions, OS images, plans), kept as data.

The packaged file holds the production values; an operator replaces it with
AIIRO_CATALOG_FILE. Keys named "aiiro" inside entries are aiiro's own (pools, plan
sizes) and are never served.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

OsFamily = Literal["linux", "windows", "import"]
WINDOWS_CATEGORY_NAME = "Windows"
IMPORT_OS_ID = 3


@dataclass(frozen=True)
class OsImage:
    id: int
    category_id: int
    code: str
    name: str
    viewname: str
    instancetype_id: int
    family: OsFamily
    public: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    id: int
    code: str
    kvm_name: str  # the instance's `plan` string, e.g. "1CR768MB"
    cpus: int
    memory_mb: int
    disk_gb: int
    ipaddress_type: str  # ipv4 / ipv6 / ipv46dual
    family: OsFamily  # which OS family may use it
    instancetype_id: int
    public: dict[str, Any]

    @property
    def memsize(self) -> float | int:
        """Memory in GB as Indigo shows it: 0.768 for 768 MB, 2 for 2 GB."""
        gb = self.memory_mb / 1024 if self.memory_mb % 1024 == 0 else self.memory_mb / 1000
        return int(gb) if gb == int(gb) else gb


@dataclass(frozen=True)
class Region:
    id: int
    name: str
    instancetype_id: int
    ipv4_pool: ipaddress.IPv4Network
    ipv6_pool: ipaddress.IPv6Network
    set_no: dict[str, int]
    host_ids: list[int]
    public: dict[str, Any]
    # The pools' gateways (the libvirt network's own address); never handed out. Unset:
    # the first host address of the pool.
    ipv4_gateway: ipaddress.IPv4Address | None = None
    ipv6_gateway: ipaddress.IPv6Address | None = None


class Catalog:
    def __init__(self, data: dict[str, Any]) -> None:
        self.instance_types: list[dict[str, Any]] = data["instanceTypes"]
        self.regions: list[Region] = [_region(r) for r in data["regions"]]
        self.os_categories: list[dict[str, Any]] = data["osCategories"]
        self.images: dict[int, OsImage] = {}
        for cat in self.os_categories:
            family: OsFamily = "windows" if cat["name"] == WINDOWS_CATEGORY_NAME else "linux"
            for item in cat["osLists"]:
                self.images[item["id"]] = _image(item, family)
        for item in data.get("hiddenOs", []):
            self.images[item["id"]] = _image(item, item.get("aiiro", {}).get("family", "linux"))
        self.plans: list[Plan] = [_plan(p) for p in data["plans"]]
        self._plans_by_id = {p.id: p for p in self.plans}

    # --- lookups ------------------------------------------------------------------------
    def instance_type(self, type_id: int) -> dict[str, Any] | None:
        return next((t for t in self.instance_types if t["id"] == type_id), None)

    def regions_for(self, type_id: int) -> list[Region]:
        return [r for r in self.regions if r.instancetype_id == type_id]

    def region(self, region_id: int) -> Region | None:
        return next((r for r in self.regions if r.id == region_id), None)

    def image(self, os_id: int) -> OsImage | None:
        return self.images.get(os_id)

    def plan(self, plan_id: int) -> Plan | None:
        return self._plans_by_id.get(plan_id)

    def plans_for(self, type_id: int, os_id: int | None) -> list[Plan]:
        """The plans offered for an OS: Linux (and import) plans, or Windows plans."""
        image = self.image(os_id) if os_id is not None else None
        family = image.family if image else "linux"
        wanted = "windows" if family == "windows" else "linux"
        return [p for p in self.plans if p.instancetype_id == type_id and p.family == wanted]

    def plan_allows(self, plan: Plan, image: OsImage) -> bool:
        wanted = "windows" if image.family == "windows" else "linux"
        return plan.family == wanted

    # --- served bodies (the public parts, in the catalogue's order) --------------------------
    def os_categories_for(self, type_id: int) -> list[dict[str, Any]]:
        return [
            {
                **{k: v for k, v in cat.items() if k != "osLists"},
                "osLists": [i for i in cat["osLists"] if i.get("instancetype_id") == type_id],
            }
            for cat in self.os_categories
        ]


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "aiiro"}


def _image(item: dict[str, Any], family: OsFamily) -> OsImage:
    pub = _public(item)
    return OsImage(
        item["id"],
        item["categoryid"],
        item["code"],
        item["name"],
        item["viewname"],
        item["instancetype_id"],
        family,
        pub,
    )


def _plan(p: dict[str, Any]) -> Plan:
    extra = p.get("aiiro", {})
    kvm = p["kvm_resources"]
    return Plan(
        id=p["id"],
        code=p["code"],
        kvm_name=kvm["name"],
        cpus=kvm["limitnum"],
        memory_mb=extra.get("memory_mb", 1024),
        disk_gb=extra.get("disk_gb", 20),
        ipaddress_type=p["ipaddress_type"],
        family=extra.get("family", "linux"),
        instancetype_id=p["instancetype_id"],
        public=_public(p),
    )


def _region(r: dict[str, Any]) -> Region:
    extra = r.get("aiiro", {})
    pub = {k: v for k, v in r.items() if k not in ("aiiro", "instancetype_id")}
    return Region(
        id=r["id"],
        name=r["name"],
        instancetype_id=r.get("instancetype_id", 1),
        ipv4_pool=ipaddress.IPv4Network(extra.get("ipv4_pool", "198.18.0.0/15")),
        ipv6_pool=ipaddress.IPv6Network(extra.get("ipv6_pool", "2001:db8::/48")),
        set_no=extra.get("set_no", {"ipv4": 14, "ipv46dual": 10, "ipv6": 18}),
        host_ids=extra.get("host_ids", [1]),
        public=pub,
        ipv4_gateway=ipaddress.IPv4Address(extra["gateway"]) if extra.get("gateway") else None,
        ipv6_gateway=(
            ipaddress.IPv6Address(extra["ipv6_gateway"]) if extra.get("ipv6_gateway") else None
        ),
    )


def load_catalog(path: Path | None = None) -> Catalog:
    if path is not None:
        text = Path(path).read_text(encoding="utf-8")
    else:
        text = resources.files("aiiro.data").joinpath("catalog.json").read_text(encoding="utf-8")
    return Catalog(json.loads(text))
