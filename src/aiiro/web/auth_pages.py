"""Sign up, sign in, sign out, and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from aiiro.web import i18n, pages, sessions
from aiiro.web.accounts import PanelProblem, sign_in, sign_up
from aiiro.web.forms import Form

router = APIRouter(route_class=pages.PanelRoute)

LANG_MAX_AGE = 365 * 24 * 3600


@router.get(pages.PREFIX)
@router.get(f"{pages.PREFIX}/")
def panel_home(request: Request) -> Response:
    rt = pages.runtime(request)
    signed = sessions.lookup(rt, request.cookies.get(sessions.SESSION_COOKIE))
    return pages.see_other(pages.HOME if signed else f"{pages.PREFIX}/signin")


@router.get(f"{pages.PREFIX}/signin")
def signin_page(request: Request) -> Response:
    return pages.render(
        request, "signin.html", next=pages.local_path(request.query_params.get("next"))
    )


@router.post(f"{pages.PREFIX}/signin")
def signin(request: Request, form: Form = Depends(pages.anonymous_form)) -> Response:
    rt = pages.runtime(request)
    target = pages.local_path(form.get("next"))
    try:
        account_id = sign_in(rt, form.get("email"), form.get("password"))
    except PanelProblem as problem:
        return pages.render(
            request,
            "signin.html",
            problem.status,
            next=target,
            email=form.get("email"),
            problem=problem.key,
        )
    sessions.purge_expired(rt)
    response = pages.see_other(target)
    pages.set_cookie(response, request, sessions.SESSION_COOKIE, sessions.start(rt, account_id))
    return response


@router.get(f"{pages.PREFIX}/signup")
def signup_page(request: Request) -> Response:
    return pages.render(request, "signup.html")


@router.post(f"{pages.PREFIX}/signup")
def signup(request: Request, form: Form = Depends(pages.anonymous_form)) -> Response:
    rt = pages.runtime(request)
    try:
        account_id = sign_up(rt, form.get("name"), form.get("email"), form.get("password"))
    except PanelProblem as problem:
        return pages.render(
            request,
            "signup.html",
            problem.status,
            name=form.get("name"),
            email=form.get("email"),
            problem=problem.key,
        )
    response = pages.see_other(pages.HOME)
    pages.set_cookie(response, request, sessions.SESSION_COOKIE, sessions.start(rt, account_id))
    return response


@router.post(f"{pages.PREFIX}/signout")
def signout(request: Request, act: pages.Act) -> Response:
    sessions.end(pages.runtime(request), act.user.session_id)
    response = pages.see_other(f"{pages.PREFIX}/signin")
    pages.drop_cookie(response, request, sessions.SESSION_COOKIE)
    return response


@router.get(pages.PREFIX + "/lang/{lang}")
def switch_language(lang: str, request: Request) -> Response:
    # A GET on purpose: it only records a display preference.
    response = pages.see_other(pages.local_path(request.query_params.get("next")))
    if lang in i18n.LANGUAGES:
        pages.set_cookie(response, request, i18n.COOKIE, lang, max_age=LANG_MAX_AGE)
    return response
