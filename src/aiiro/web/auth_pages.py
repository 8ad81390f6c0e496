"""Sign up, sign in, sign out, and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from aiiro.web import i18n, sessions
from aiiro.web.accounts import PanelProblem, sign_in, sign_up
from aiiro.web.forms import Form
from aiiro.web.pages import (
    HOME,
    PREFIX,
    Acting,
    PanelRoute,
    acting,
    anonymous_form,
    drop_cookie,
    local_path,
    render,
    runtime,
    see_other,
    set_cookie,
)

router = APIRouter(route_class=PanelRoute)

LANG_MAX_AGE = 365 * 24 * 3600


@router.get(PREFIX)
@router.get(f"{PREFIX}/")
def panel_home(request: Request) -> Response:
    rt = runtime(request)
    signed = sessions.lookup(rt, request.cookies.get(sessions.SESSION_COOKIE))
    return see_other(HOME if signed else f"{PREFIX}/signin")


@router.get(f"{PREFIX}/signin")
def signin_page(request: Request) -> Response:
    return render(request, "signin.html", next=local_path(request.query_params.get("next")))


@router.post(f"{PREFIX}/signin")
def signin(request: Request, form: Form = Depends(anonymous_form)) -> Response:
    rt = runtime(request)
    target = local_path(form.get("next"))
    try:
        account_id = sign_in(rt, form.get("email"), form.get("password"))
    except PanelProblem as problem:
        return render(
            request,
            "signin.html",
            problem.status,
            next=target,
            email=form.get("email"),
            problem=problem.key,
        )
    sessions.purge_expired(rt)
    response = see_other(target)
    set_cookie(response, request, sessions.SESSION_COOKIE, sessions.start(rt, account_id))
    return response


@router.get(f"{PREFIX}/signup")
def signup_page(request: Request) -> Response:
    return render(request, "signup.html")


@router.post(f"{PREFIX}/signup")
def signup(request: Request, form: Form = Depends(anonymous_form)) -> Response:
    rt = runtime(request)
    try:
        account_id = sign_up(rt, form.get("name"), form.get("email"), form.get("password"))
    except PanelProblem as problem:
        return render(
            request,
            "signup.html",
            problem.status,
            name=form.get("name"),
            email=form.get("email"),
            problem=problem.key,
        )
    response = see_other(HOME)
    set_cookie(response, request, sessions.SESSION_COOKIE, sessions.start(rt, account_id))
    return response


@router.post(f"{PREFIX}/signout")
def signout(request: Request, act: Acting = Depends(acting)) -> Response:
    sessions.end(runtime(request), act.user.session_id)
    response = see_other(f"{PREFIX}/signin")
    drop_cookie(response, request, sessions.SESSION_COOKIE)
    return response


@router.get(PREFIX + "/lang/{lang}")
def switch_language(lang: str, request: Request) -> Response:
    # A GET on purpose: it only records a display preference.
    response = see_other(local_path(request.query_params.get("next")))
    if lang in i18n.LANGUAGES:
        set_cookie(response, request, i18n.COOKIE, lang, max_age=LANG_MAX_AGE)
    return response
