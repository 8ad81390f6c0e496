"""Sign-up, sign-in, sessions and sign-out of the control panel."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from aiiro.store.models import Account, WebSession
from aiiro.web import sessions
from tests.web.conftest import PASSWORD, Visitor, account_id_of


def test_root_leads_to_the_panel_and_signed_out_visitors_to_sign_in(visitor: Any) -> None:
    v = visitor()
    r = v.get("/")
    assert (r.status_code, r.headers["location"]) == (303, "/panel/")
    r = v.get("/panel/")
    assert r.headers["location"] == "/panel/signin"
    r = v.get("/panel/apikeys")
    assert r.status_code == 303
    assert r.headers["location"] == "/panel/signin?next=/panel/apikeys"


def test_sign_up_stores_an_argon2id_hash_and_signs_in(alice_web: Visitor, rt: Any) -> None:
    with rt.db.read() as s:
        account = s.scalars(select(Account).where(Account.email == "alice@example.com")).one()
    assert account.name == "Alice Example"
    assert account.password_hash is not None
    assert account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash
    page = alice_web.get("/panel/apikeys")
    assert page.status_code == 200
    assert "alice@example.com" in page.text


def test_session_cookie_is_httponly_samesite_lax_and_scoped_to_the_panel(visitor: Any) -> None:
    v = visitor()
    r = v.sign_up("Carol", "carol@example.com")
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{sessions.SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/panel" in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back


def test_session_cookie_is_secure_over_https(visitor: Any) -> None:
    v = visitor("https://aiiro.test")
    r = v.sign_up("Dave", "dave@example.com")
    assert "Secure" in r.headers["set-cookie"]


def test_only_a_hash_of_the_session_token_is_stored(alice_web: Visitor, rt: Any) -> None:
    token = alice_web.http.cookies.get(sessions.SESSION_COOKIE)
    assert token
    with rt.db.read() as s:
        stored = list(s.scalars(select(WebSession.token_hash)))
    assert stored == [rt.hasher.hash(token)]


def test_sign_in_with_the_right_password(alice_web: Visitor, visitor: Any) -> None:
    v = visitor()
    r = v.sign_in("Alice@Example.com ")  # addresses compare without case or spaces
    assert (r.status_code, r.headers["location"]) == (303, "/panel/instances")
    assert v.get("/panel/apikeys").status_code == 200


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(
    alice_web: Visitor, visitor: Any
) -> None:
    v = visitor()
    v.get("/panel/signin?next=/panel/sshkeys")
    r = v.post(
        "/panel/signin",
        {"email": "alice@example.com", "password": PASSWORD, "next": "/panel/sshkeys"},
    )
    assert r.headers["location"] == "/panel/sshkeys"
    for evil in ("https://evil.example/", "//evil.example/panel/", "/panel/\\evil"):
        w = visitor()
        w.get("/panel/signin")
        r = w.post(
            "/panel/signin", {"email": "alice@example.com", "password": PASSWORD, "next": evil}
        )
        assert r.headers["location"] == "/panel/instances", evil


def test_wrong_password_and_unknown_address_get_the_same_answer(
    alice_web: Visitor, visitor: Any
) -> None:
    v = visitor()
    wrong = v.sign_in("alice@example.com", "not the password")
    unknown = v.sign_in("nobody@example.com", "not the password")
    # A NUL, which no PostgreSQL text can hold (the lookup used to fail there: a 500).
    odd = v.sign_in("alice\x00@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == odd.status_code == 401
    for r in (wrong, unknown, odd):
        assert "メールアドレスまたはパスワードが正しくありません。" in r.text
        assert sessions.SESSION_COOKIE not in r.headers.get("set-cookie", "")


def test_sign_up_refusals(alice_web: Visitor, visitor: Any) -> None:
    v = visitor()
    taken = v.sign_up("Another Alice", "ALICE@example.com")
    assert taken.status_code == 400
    assert "このメールアドレスのアカウントは既に存在します。" in taken.text
    short = v.sign_up("Eve", "eve@example.com", "short")
    assert short.status_code == 400
    bad = v.sign_up("Eve", "not-an-address")
    assert bad.status_code == 400
    assert sessions.SESSION_COOKIE not in v.http.cookies


def test_sign_out_ends_the_session_on_the_server(alice_web: Visitor, rt: Any) -> None:
    token = alice_web.http.cookies.get(sessions.SESSION_COOKIE)
    alice_web.get("/panel/apikeys")
    r = alice_web.post("/panel/signout")
    assert (r.status_code, r.headers["location"]) == (303, "/panel/signin")
    with rt.db.read() as s:
        assert s.scalar(select(WebSession.id)) is None
    # The old cookie, replayed, no longer opens anything.
    alice_web.http.cookies.set(sessions.SESSION_COOKIE, token, path="/panel")
    assert alice_web.get("/panel/apikeys").status_code == 303


def test_a_disabled_account_cannot_sign_in_and_its_sessions_stop(
    alice_web: Visitor, visitor: Any, client: Any, admin_headers: dict[str, str], rt: Any
) -> None:
    account_id = account_id_of(rt, "alice@example.com")
    r = client.post(f"/_aiiro/accounts/{account_id}/disable", headers=admin_headers)
    assert r.status_code == 200, r.text
    assert alice_web.get("/panel/apikeys").status_code == 303
    v = visitor()
    right, wrong = v.sign_in("alice@example.com"), v.sign_in("alice@example.com", "wrong pw!")
    # Answered as a wrong password, even for the right one: no oracle for passwords.
    assert (right.status_code, wrong.status_code) == (401, 401)
    assert "メールアドレスまたはパスワードが正しくありません。" in right.text
    client.post(f"/_aiiro/accounts/{account_id}/enable", headers=admin_headers)
    assert v.sign_in("alice@example.com").status_code == 303


def test_sessions_expire_after_a_day_without_use(alice_web: Visitor, rt: Any) -> None:
    assert alice_web.get("/panel/apikeys").status_code == 200
    rt.clock.advance(sessions.IDLE.total_seconds() - 60)
    assert alice_web.get("/panel/apikeys").status_code == 200  # use slides the expiry on
    rt.clock.advance(sessions.IDLE.total_seconds() - 60)
    assert alice_web.get("/panel/apikeys").status_code == 200
    rt.clock.advance(sessions.IDLE.total_seconds() + 1)
    assert alice_web.get("/panel/apikeys").status_code == 303


def test_sessions_end_after_seven_days_however_busy(alice_web: Visitor, rt: Any) -> None:
    for _ in range(7 * 2):
        rt.clock.advance(12 * 3600)
        if alice_web.get("/panel/apikeys").status_code != 200:
            break
    else:
        raise AssertionError("the session outlived its maximum age")
    assert rt.clock.offset <= sessions.MAX_AGE.total_seconds() + 12 * 3600


def test_sign_up_can_be_closed(settings: Any) -> None:
    from aiiro.serve import build_app

    closed = settings.model_copy(update={"panel_signup": False})
    app = build_app(closed)
    v = Visitor(app)
    page = v.get("/panel/signup")
    assert "新規登録を受け付けていません" in page.text
    r = v.post("/panel/signup", {"name": "X", "email": "x@example.com", "password": PASSWORD})
    assert r.status_code == 403
    app.state.runtime.db.dispose()
