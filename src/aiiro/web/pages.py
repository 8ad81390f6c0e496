"""What every panel page shares: templates, cookies, the signed-in user, CSRF checks, and
the route class that turns refusals into pages instead of Indigo JSON."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.convertors import IntegerConvertor, register_url_convertor
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from aiiro import __version__
from aiiro.domain.errors import IndigoError
from aiiro.engine.worker import Engine
from aiiro.runtime import Runtime
from aiiro.web import i18n, sessions
from aiiro.web.accounts import PanelProblem
from aiiro.web.forms import Form, FormTooLarge, read_form
from aiiro.web.sessions import PanelUser

PREFIX = "/panel"
HOME = f"{PREFIX}/instances"


class IdConvertor(IntegerConvertor):
    """`{name:id}` in a panel path: an id the store can hold (1 to 9 ASCII digits, within
    inputs.MAX_STORED; no id reaches a billion). A longer number matches no route (404),
    where `:int` would reach the store and overflow its integer column."""

    regex = "[0-9]{1,9}"


register_url_convertor("id", IdConvertor())

# Scripts and styles come from the panel's own static files only. Inline styles are
# allowed because xterm.js sizes its rows with a generated <style> element.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}

templates = Environment(
    loader=PackageLoader("aiiro.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


class SignInRequired(Exception):
    pass


class CsrfRejected(Exception):
    pass


def runtime(conn: HTTPConnection) -> Runtime:
    rt: Runtime = conn.app.state.runtime
    return rt


def engine(conn: HTTPConnection) -> Engine:
    """The engine: every change goes through its `change` (settle, write, kick)."""
    found: Engine = conn.app.state.engine
    return found


# --- cookies ----------------------------------------------------------------------------


def set_cookie(
    response: Response, conn: HTTPConnection, name: str, value: str, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        httponly=True,
        samesite="lax",
        secure=conn.url.scheme in ("https", "wss"),
    )


def drop_cookie(response: Response, conn: HTTPConnection, name: str) -> None:
    response.delete_cookie(
        name, path=PREFIX, httponly=True, samesite="lax", secure=conn.url.scheme == "https"
    )


def local_path(target: str | None, default: str = HOME) -> str:
    """A redirect target that stays on this panel (never another site)."""
    if not target or not target.startswith(f"{PREFIX}/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return target


# --- who is asking --------------------------------------------------------------------------


def signed_in(request: Request) -> PanelUser:
    """The signed-in user (a read, sometimes a write of the session's last use: the
    panel's dependencies and pages are plain functions, run in worker threads)."""
    user = sessions.lookup(runtime(request), request.cookies.get(sessions.SESSION_COOKIE))
    if user is None:
        raise SignInRequired()
    request.state.panel_user = user
    return user


@dataclass(frozen=True)
class Acting:
    """A signed-in user's form post whose CSRF token checked out."""

    user: PanelUser
    form: Form


async def posted_form(request: Request) -> Form:
    return await read_form(request)


def acting(request: Request, form: Form = Depends(posted_form)) -> Acting:
    user = signed_in(request)
    if not sessions.csrf_matches(
        runtime(request), request.cookies.get(sessions.SESSION_COOKIE), form.get("csrf")
    ):
        raise CsrfRejected()
    return Acting(user, form)


# What a page's handler takes, as FastAPI dependencies: `user: pages.User` (signed in),
# `act: pages.Act` (signed in, a form post whose CSRF token checked out).
User = Annotated[PanelUser, Depends(signed_in)]
Act = Annotated[Acting, Depends(acting)]


async def anonymous_form(request: Request) -> Form:
    """A signed-out form post (sign-in, sign-up), checked against the pre-session cookie."""
    form = await read_form(request)
    if not sessions.csrf_matches(
        runtime(request), request.cookies.get(sessions.PRE_COOKIE), form.get("csrf")
    ):
        raise CsrfRejected()
    return form


# --- pages ----------------------------------------------------------------------------------


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    rt = runtime(request)
    lang = i18n.choose(request)
    user: PanelUser | None = getattr(request.state, "panel_user", None)
    new_pre: str | None = None
    if user is not None:
        csrf = user.csrf
        flash = user.flash
        if flash is not None:
            sessions.clear_flash(rt, user.session_id)
    else:
        pre = request.cookies.get(sessions.PRE_COOKIE)
        if not pre:
            pre = new_pre = sessions.new_token(rt)
        csrf = sessions.csrf_for(rt, pre)
        flash = None

    def t(key: str, **values: Any) -> str:
        return i18n.translate(lang, key, **values)

    def indigo(err: IndigoError) -> str:
        return i18n.error_text(lang, err)

    html = templates.get_template(template).render(
        t=t,
        indigo=indigo,
        lang=lang,
        user=user,
        csrf=csrf,
        flash=flash,
        path=request.url.path,
        here=_here(request),
        prefix=PREFIX,
        version=__version__,
        signup_open=rt.settings.signup_open,
        **context,
    )
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if new_pre is not None:
        set_cookie(response, request, sessions.PRE_COOKIE, new_pre)
    return response


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def see_other(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)


def flash_ok(
    request: Request, user: PanelUser, key: str, *, while_busy: bool = False, **values: Any
) -> None:
    text = i18n.translate(i18n.choose(request), key, **values)
    sessions.set_flash(runtime(request), user.session_id, "ok", text, while_busy=while_busy)


@dataclass
class Outcome:
    ok: bool = False


@contextmanager
def outcome(
    request: Request,
    user: PanelUser,
    ok_key: str,
    *,
    at: str = "",
    while_busy: bool = False,
    **values: Any,
) -> Iterator[Outcome]:
    """Run an action: on success the next page says `ok_key`; a domain refusal shows the
    Indigo message (in the visitor's language) and code instead. Both are shown `at` the
    part of the next page the action's form is in (the redirect's #fragment), so that
    the answer is next to the button that was pressed."""
    rt = runtime(request)
    lang = i18n.choose(request)
    result = Outcome()
    try:
        yield result
    except IndigoError as err:
        text = i18n.error_text(lang, err)
        sessions.set_flash(rt, user.session_id, "error", text, err.code, at=at)
    except PanelProblem as problem:
        text = i18n.translate(lang, problem.key)
        sessions.set_flash(rt, user.session_id, "error", text, at=at)
    else:
        result.ok = True
        text = i18n.translate(lang, ok_key, **values)
        sessions.set_flash(rt, user.session_id, "ok", text, at=at, while_busy=while_busy)


# --- the route class ------------------------------------------------------------------------


class PanelRoute(APIRoute):
    """Refusals become pages: sign-in redirect, CSRF 403, the Indigo message in HTML."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                back = quote(_here(request), safe="/")
                if request.method != "GET":
                    back = quote(HOME, safe="/")
                return see_other(f"{PREFIX}/signin?next={back}")
            except CsrfRejected:
                page = partial(render, request, "error.html", 403, message_key="error.csrf")
            except FormTooLarge:
                page = partial(render, request, "error.html", 413, message_key="error.too_large")
            except PanelProblem as problem:
                page = partial(
                    render, request, "error.html", problem.status, message_key=problem.key
                )
            except IndigoError as err:
                page = partial(render, request, "error.html", err.status, error=err)
            # A page may write (the session's message, once shown): off the event loop.
            return await run_in_threadpool(page)

        return run
