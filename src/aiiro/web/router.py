"""The control panel's routes, gathered under /panel (and `/`, which leads there)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aiiro.web import (
    apikey_pages,
    auth_pages,
    console,
    firewall_pages,
    instance_pages,
    snapshot_pages,
    sshkey_pages,
    static_files,
)
from aiiro.web.pages import PREFIX, PanelRoute, render, see_other

router = APIRouter(include_in_schema=False)


@router.get("/")
def root() -> Response:
    return see_other(f"{PREFIX}/")


for module in (
    static_files,
    auth_pages,
    apikey_pages,
    sshkey_pages,
    firewall_pages,
    snapshot_pages,
    instance_pages,
    console,
):
    router.include_router(module.router)

_fallback = APIRouter(route_class=PanelRoute)


@_fallback.api_route(PREFIX + "/{rest:path}", methods=["GET", "POST"])
def not_found(rest: str, request: Request) -> Response:
    return render(request, "error.html", 404, message_key="error.not_found")


router.include_router(_fallback)
