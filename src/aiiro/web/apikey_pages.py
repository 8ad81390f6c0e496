"""API鍵の管理: list, create (the secret is shown once, on the answer to the POST) and
delete, through domain/accounts.py like /webarenaIndigo/v1/auth/..."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aiiro.domain import accounts
from aiiro.web import pages

router = APIRouter(route_class=pages.PanelRoute)
PAGE = f"{pages.PREFIX}/apikeys"


@router.get(PAGE)
def apikeys_page(request: Request, user: pages.User) -> Response:
    with pages.runtime(request).db.read() as s:
        keys = accounts.list_api_keys(s, user.account_id)
    return pages.render(request, "apikeys.html", keys=keys, nav="apikeys")


@router.post(PAGE)
def create_apikey(request: Request, act: pages.Act) -> Response:
    rt = pages.runtime(request)
    new = pages.engine(request).apply(lambda s: accounts.create_api_key(rt, s, act.user.account_id))
    # Rendered directly, never stored: reloading or going back cannot show it again.
    return pages.render(
        request,
        "apikey_created.html",
        201,
        new=new,
        api_base=str(request.base_url).rstrip("/"),
        nav="apikeys",
    )


@router.post(PAGE + "/{key_id:id}/delete")
def delete_apikey(key_id: int, request: Request, act: pages.Act) -> Response:
    rt = pages.runtime(request)
    with pages.outcome(request, act.user, "apikeys.deleted"):
        pages.engine(request).apply(
            lambda s: accounts.delete_api_key(rt, s, act.user.account_id, key_id)
        )
    return pages.see_other(PAGE)
