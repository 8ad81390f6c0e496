"""The catalogue: instance types, regions, OS images, plans — and finding them by name.

Names the lookups take: OS "Debian12" / "Debian 12" / 22; plan "1CR768MB" (the instance's
`plan`) / "1vCPU768MB20GB" (the plan code) / "Memory768MB,1vCPU,SSD20GB" / 13; region "Tokyo" / 1.
Instance type 1 ("instance", KVM) is the only usable one on Indigo and the default here.
"""

from __future__ import annotations

from aiiro.client.lookup import Ref, as_id, pick
from aiiro.client.models import InstanceType, OsCategory, OsImage, Plan, Region
from aiiro.client.resource import M, Resource, operation
from aiiro.client_core.errors import LookupFailed
from aiiro.client_core.policy import Call, Engine, Op, Request
from aiiro.client_core.shapes import elements

BASE = "/webarenaIndigo/v1/vm"
KVM = 1  # instance type "instance" (KVM Instance)


def types_call() -> Call[list[InstanceType]]:
    return Call(
        Request("GET", f"{BASE}/instancetypes"),
        lambda b: [InstanceType.from_api(x) for x in elements(b, "instanceTypes")],
    )


def regions_call(instance_type: int = KVM) -> Call[list[Region]]:
    return Call(
        Request("GET", f"{BASE}/getregion", params=(("instanceTypeId", str(instance_type)),)),
        lambda b: [Region.from_api(x) for x in elements(b, "regionlist")],
    )


def os_call(instance_type: int = KVM) -> Call[list[OsCategory]]:
    return Call(
        Request("GET", f"{BASE}/oslist", params=(("instanceTypeId", str(instance_type)),)),
        lambda b: [OsCategory.from_api(x) for x in elements(b, "osCategory")],
    )


def plans_call(instance_type: int = KVM, os_id: int | None = None) -> Call[list[Plan]]:
    params: tuple[tuple[str, str], ...] = (("instanceTypeId", str(instance_type)),)
    if os_id is not None:
        params += (("osId", str(os_id)),)
    return Call(
        Request("GET", f"{BASE}/getinstancespec", params=params),
        lambda b: [Plan.from_api(x) for x in elements(b, "speclist")],
    )


def images(e: Engine, instance_type: int = KVM) -> Op[list[OsImage]]:
    categories = yield from e.run(os_call(instance_type))
    return [image for c in categories for image in c.images]


def find_type(e: Engine, ref: Ref) -> Op[InstanceType]:
    found = yield from e.run(types_call())
    return pick(found, ref, "instance type", lambda t: t.id, lambda t: [t.name, t.display_name])


def find_region(e: Engine, ref: Ref, instance_type: int = KVM) -> Op[Region]:
    found = yield from e.run(regions_call(instance_type))
    return pick(found, ref, "region", lambda r: r.id, lambda r: [r.name])


def find_os(e: Engine, ref: Ref, instance_type: int = KVM) -> Op[OsImage]:
    found = yield from images(e, instance_type)
    return pick(found, ref, "OS image", lambda o: o.id, lambda o: [o.name, o.viewname])


def find_plan(e: Engine, ref: Ref, os_id: int | None = None, instance_type: int = KVM) -> Op[Plan]:
    found = yield from e.run(plans_call(instance_type, os_id))
    return pick(found, ref, "plan", lambda p: p.id, lambda p: [p.resource, p.code, p.name])


def region_id(e: Engine, ref: Ref | None, instance_type: int = KVM) -> Op[int]:
    """The region `ref` names; without one, the type's only region (Tokyo on Indigo)."""
    if ref is not None and as_id(ref) is not None:
        return as_id(ref) or 0
    regions = yield from e.run(regions_call(instance_type))
    if ref is None:
        if len(regions) == 1:
            return regions[0].id
        names = ", ".join(r.name for r in regions) or "none"
        raise LookupFailed(f"choose a region: {names}")
    return pick(regions, ref, "region", lambda r: r.id, lambda r: [r.name]).id


class Catalog(Resource[M]):
    """The catalogue: `indigo.catalog`."""

    @operation
    def types(self) -> Op[list[InstanceType]]:
        """Instance types (1, "instance", is the usable one)."""
        return self._e.run(types_call())

    @operation
    def regions(self, instance_type: int = KVM) -> Op[list[Region]]:
        """The regions of an instance type."""
        return self._e.run(regions_call(instance_type))

    @operation
    def os_categories(self, instance_type: int = KVM) -> Op[list[OsCategory]]:
        """OS categories, each with its images."""
        return self._e.run(os_call(instance_type))

    @operation
    def images(self, instance_type: int = KVM) -> Op[list[OsImage]]:
        """Every OS image, of every category."""
        return images(self._e, instance_type)

    @operation
    def plans(self, os: Ref | None = None, instance_type: int = KVM) -> Op[list[Plan]]:
        """Plans; with `os` (a name or id), those offered for that OS."""
        return _plans(self._e, os, instance_type)

    @operation
    def find_os(self, ref: Ref, instance_type: int = KVM) -> Op[OsImage]:
        """An OS image by id or name ("Debian12", "Debian 12", 22)."""
        return find_os(self._e, ref, instance_type)

    @operation
    def find_plan(self, ref: Ref, os: Ref | None = None, instance_type: int = KVM) -> Op[Plan]:
        """A plan by id or name ("1CR768MB", "1vCPU768MB20GB", 13)."""
        return _find_plan(self._e, ref, os, instance_type)

    @operation
    def find_region(self, ref: Ref, instance_type: int = KVM) -> Op[Region]:
        """A region by id or name ("Tokyo", 1)."""
        return find_region(self._e, ref, instance_type)


def _os_id(e: Engine, os: Ref | None, instance_type: int) -> Op[int | None]:
    if os is None:
        return None
    if as_id(os) is not None:
        return as_id(os)
    return (yield from find_os(e, os, instance_type)).id


def _plans(e: Engine, os: Ref | None, instance_type: int) -> Op[list[Plan]]:
    os_id = yield from _os_id(e, os, instance_type)
    return (yield from e.run(plans_call(instance_type, os_id)))


def _find_plan(e: Engine, ref: Ref, os: Ref | None, instance_type: int) -> Op[Plan]:
    os_id = yield from _os_id(e, os, instance_type)
    return (yield from find_plan(e, ref, os_id, instance_type))
