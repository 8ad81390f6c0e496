"""SSH鍵: add, activate/deactivate, delete, through domain/sshkeys.py (the same rules as
/webarenaIndigo/v1/vm/sshkey: I10034 for a key the API would refuse).

A pasted key keeps its usual trailing comment (`ssh-rsa AAAA... root@vm`). Where the
server refuses comments, as Indigo does, the panel takes it off before registering, as
`aiiro sshkey create` does, and says so; the rule is domain/sshkeys.py's."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aiiro.domain import sshkeys
from aiiro.domain.errors import IndigoError
from aiiro.web import pages
from aiiro.web.forms import Form
from aiiro.web.sessions import PanelUser

router = APIRouter(route_class=pages.PanelRoute)
PAGE = f"{pages.PREFIX}/sshkeys"


# A comment is quoted back to the visitor; a pasted page of text is not.
COMMENT_SHOWN = 60


def keys_page(
    request: Request,
    user: PanelUser,
    status: int = 200,
    form: Form | None = None,
    error: IndigoError | None = None,
) -> Response:
    rt = pages.runtime(request)
    with rt.db.read() as s:
        keys = sshkeys.list_keys(s, user.account_id)
    return pages.render(
        request,
        "sshkeys.html",
        status,
        keys=keys,
        form=form,
        error=error,
        comments_refused=sshkeys.comments_refused(rt),
        nav="sshkeys",
    )


@router.get(PAGE)
def sshkeys_page(request: Request, user: pages.User) -> Response:
    return keys_page(request, user)


@router.post(PAGE)
def add_sshkey(request: Request, act: pages.Act) -> Response:
    rt = pages.runtime(request)
    name = act.form.get("name")
    key, comment = sshkeys.without_refused_comment(rt, act.form.get("sshkey"))
    try:
        pages.engine(request).apply(lambda s: sshkeys.create(rt, s, act.user.account_id, name, key))
    except IndigoError as err:
        # Shown again with what was typed, the message next to the form.
        return keys_page(request, act.user, err.status, act.form, err)
    if comment:
        if len(comment) > COMMENT_SHOWN:
            comment = comment[: COMMENT_SHOWN - 1] + "…"
        pages.flash_ok(
            request, act.user, "sshkeys.added_without_comment", name=name, comment=comment
        )
    else:
        pages.flash_ok(request, act.user, "sshkeys.added", name=name)
    return pages.see_other(PAGE)


@router.post(PAGE + "/{key_id:id}/status")
def set_sshkey_status(key_id: int, request: Request, act: pages.Act) -> Response:
    rt = pages.runtime(request)
    status = act.form.get("status")
    with pages.outcome(request, act.user, "sshkeys.updated"):
        pages.engine(request).apply(
            lambda s: sshkeys.update(rt, s, act.user.account_id, key_id, None, None, status)
        )
    return pages.see_other(PAGE)


@router.post(PAGE + "/{key_id:id}/delete")
def delete_sshkey(key_id: int, request: Request, act: pages.Act) -> Response:
    with pages.outcome(request, act.user, "sshkeys.deleted"):
        pages.engine(request).apply(lambda s: sshkeys.delete(s, act.user.account_id, key_id))
    return pages.see_other(PAGE)
