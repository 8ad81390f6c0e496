"""Catalogue: instance types, regions, OS list, plans (read-only, served from data)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from aiiro.api import render
from aiiro.api.auth import runtime
from aiiro.api.body import query_int
from aiiro.api.endpoint import Area
from aiiro.api.openapi import BAD, listing, ok, query_param, ref
from aiiro.domain.accounts import Caller

area = Area("/webarenaIndigo/v1/vm", tag="catalog")

# Without instanceTypeId aiiro answers for type 1, the only usable type.
DEFAULT_TYPE = 1


def _type(request: Request) -> int:
    value = query_int(request, "instanceTypeId")
    return DEFAULT_TYPE if value is None else value


@area.get(
    "/instancetypes",
    summary="Instance types",
    answers={"200": ok(listing("instanceTypes", ref("InstanceType")))},
    fault="instancetypes",
)
async def instance_types(request: Request, who: Caller) -> Response:
    return render.listing("instanceTypes", runtime(request).catalog.instance_types)


@area.get(
    "/getregion",
    query=(query_param("instanceTypeId"),),
    summary="Regions of an instance type",
    answers={"200": ok(listing("regionlist", ref("Region")))},
    errors=(BAD,),
    fault="getregion",
)
async def regions(request: Request, who: Caller) -> Response:
    cat = runtime(request).catalog
    return render.listing("regionlist", [r.public for r in cat.regions_for(_type(request))])


@area.get(
    "/oslist",
    query=(query_param("instanceTypeId"),),
    summary="OS categories and images of an instance type",
    answers={"200": ok(listing("osCategory", ref("OsCategory")), "`total` counts categories")},
    errors=(BAD,),
    fault="oslist",
)
async def os_list(request: Request, who: Caller) -> Response:
    # `total` counts categories, not images, as on Indigo.
    cat = runtime(request).catalog
    return render.listing("osCategory", cat.os_categories_for(_type(request)))


@area.get(
    "/getinstancespec",
    query=(query_param("instanceTypeId"), query_param("osId")),
    summary="Plans offered for an OS",
    answers={"200": ok(listing("speclist", ref("Plan")))},
    errors=(BAD,),
    fault="getinstancespec",
)
async def instance_spec(request: Request, who: Caller) -> Response:
    cat = runtime(request).catalog
    type_id = _type(request)
    os_id = query_int(request, "osId")
    itype = cat.instance_type(type_id)
    if os_id is not None and cat.image(os_id) is None:
        plans = []
    else:
        plans = (
            cat.plans_for(type_id, os_id)
            if os_id is not None
            else [p for p in cat.plans if p.instancetype_id == type_id]
        )
    return render.listing("speclist", [_spec(p.public, itype) for p in plans])


def _spec(public: dict[str, Any], itype: dict[str, Any] | None) -> dict[str, Any]:
    # Observed order: the plan's own fields, then instance_type, then kvm_resources.
    fields = {k: v for k, v in public.items() if k != "kvm_resources"}
    return {**fields, "instance_type": itype, "kvm_resources": public["kvm_resources"]}
