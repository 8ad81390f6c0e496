"""Catalogue: instance types, regions, OS list, plans (read-only, served from data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from aiiro.api import render
from aiiro.api.auth import caller, runtime
from aiiro.api.body import query_int

router = APIRouter(prefix="/webarenaIndigo/v1/vm", tags=["catalog"], dependencies=[Depends(caller)])

# Without instanceTypeId aiiro answers for type 1, the only usable type.
DEFAULT_TYPE = 1


def _type(request: Request) -> int:
    value = query_int(request, "instanceTypeId")
    return DEFAULT_TYPE if value is None else value


@router.get("/instancetypes", summary="Instance types")
async def instance_types(request: Request) -> Response:
    return render.listing("instanceTypes", runtime(request).catalog.instance_types)


@router.get("/getregion", summary="Regions of an instance type")
async def regions(request: Request) -> Response:
    cat = runtime(request).catalog
    return render.listing("regionlist", [r.public for r in cat.regions_for(_type(request))])


@router.get("/oslist", summary="OS categories and images of an instance type")
async def os_list(request: Request) -> Response:
    # `total` counts categories, not images, as on Indigo.
    cat = runtime(request).catalog
    return render.listing("osCategory", cat.os_categories_for(_type(request)))


@router.get("/getinstancespec", summary="Plans offered for an OS")
async def instance_spec(request: Request) -> Response:
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
