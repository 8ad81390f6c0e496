"""The control panel in a real browser: what issue 7 asks to see working."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from tests.acceptance.server import AiiroServer
from tests.api.keygen import rsa_public
from tests.browser.conftest import PASSWORD, WAIT_MS, account_id, admin, screenshot, sign_up

pytestmark = pytest.mark.browser


def badge(page: Any) -> Any:
    return page.locator('#instance [data-field="status"] .badge')


def console_shows(page: Any, prompt: str) -> str:
    """Wait until the console's last words are `prompt`; returns all it printed. (The
    console replays every boot since the instance was made: the installation's boot ended
    at a login prompt too, so an earlier prompt proves nothing about this boot.)"""
    printed = ""
    for _ in range(WAIT_MS // 200):
        printed = str(page.evaluate("window.aiiroConsole ? window.aiiroConsole.text() : ''"))
        if printed.rstrip().endswith(prompt):
            return printed
        page.wait_for_timeout(200)
    raise AssertionError(f"the console never came to {prompt!r}:\n{printed[-1500:]}")


def add_ssh_key(page: Any, name: str = "laptop") -> None:
    page.get_by_role("link", name="SSH鍵", exact=True).click()
    page.get_by_label("名前").fill(name)
    page.get_by_label("公開鍵").fill(rsa_public())
    page.get_by_role("button", name="SSH鍵を登録").click()
    page.get_by_text(f"SSH鍵「{name}」を登録しました。").wait_for()


def create_instance(page: Any, name: str) -> None:
    page.get_by_role("link", name="インスタンス", exact=True).click()
    page.get_by_role("link", name="インスタンスの作成").click()
    page.get_by_label("OS", exact=True).select_option(label="Debian 12")
    plan = "Memory1GB,1vCPU,SSD20GB (1CR1GB, ipv46dual)"
    page.get_by_label("プラン", exact=True).select_option(label=plan)
    page.get_by_label("インスタンス名").fill(name)
    page.get_by_role("button", name="インスタンスを作成").click()
    page.wait_for_url(re.compile(r".*/panel/instances/\d+$"))


def start_and_wait_running(page: Any) -> None:
    # The page is not reloaded: the status and the buttons follow the server by polling.
    page.evaluate("window.__sameDocument = true")
    badge(page).filter(has_text="停止中").wait_for()
    page.locator('button[data-command="start"]:enabled').click()
    page.wait_for_load_state()
    page.evaluate("window.__sameDocument = true")
    badge(page).filter(has_text=re.compile(r"^起動中$")).wait_for()
    assert page.evaluate("window.__sameDocument === true")


def power(page: Any, command: str) -> None:
    page.locator(f'button[data-command="{command}"]:enabled').click()
    page.wait_for_load_state()


def test_sign_up_create_an_api_key_and_use_it_with_curl(page: Any, server: AiiroServer) -> None:
    page.goto("/panel/signin")
    screenshot(page, "signin")
    sign_up(page)
    page.get_by_role("navigation", name="メニュー").get_by_role("link", name="API鍵").click()
    assert page.get_by_role("heading", name="API鍵の管理").is_visible()
    page.get_by_role("button", name="API鍵の作成").click()
    page.get_by_role("heading", name="API鍵を作成しました").wait_for()
    key = page.locator("#apikey-value").inner_text()
    secret = page.locator("#apisecret-value").inner_text()
    assert re.fullmatch(r"[A-Za-z0-9]{32}", key) and re.fullmatch(r"[A-Za-z0-9]{16}", secret)
    assert f"export IndigoApiPrivateKey={secret}" in page.locator("#secret-snippet").inner_text()
    page.locator('button[data-copy="apikey-value"]').click()
    page.get_by_role("button", name="コピーしました").wait_for()
    screenshot(page, "apikey-created")

    # The seed's own way: curl, a JSON body and no Content-Type.
    body = json.dumps(
        {"grantType": "client_credentials", "clientId": key, "clientSecret": secret, "code": ""}
    )
    token = subprocess.run(
        ["curl", "-sS", "-X", "POST", f"{server.base_url}/oauth/v1/accesstokens", "-d", body],
        capture_output=True,
        text=True,
        check=True,
    )
    access = json.loads(token.stdout)["accessToken"]
    listed = subprocess.run(
        [
            "curl",
            "-sS",
            f"{server.base_url}/webarenaIndigo/v1/auth/apikey",
            "-H",
            f"Authorization: Bearer {access}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert [k["apiKey"] for k in json.loads(listed.stdout)["accesstokens"]] == [key]

    # Shown once: the list never shows the secret again.
    page.get_by_role("link", name="API鍵の一覧へ戻る").click()
    assert key in page.content() and secret not in page.content()
    screenshot(page, "apikeys")


def test_create_start_an_instance_and_read_the_boot_log(page: Any, server: AiiroServer) -> None:
    sign_up(page)
    add_ssh_key(page)
    screenshot(page, "sshkeys")
    page.get_by_role("link", name="インスタンス", exact=True).click()
    page.get_by_role("link", name="インスタンスの作成").click()
    screenshot(page, "instance-new")
    create_instance(page, "web1")
    page.get_by_text("インスタンス「web1」を作成中です。").wait_for()
    start_and_wait_running(page)
    page.get_by_text("接続しました").wait_for()
    log = console_shows(page, "web1 login:")
    assert "Debian GNU/Linux 12 web1 ttyS0" in log
    # Keystrokes go to the guest: a user name gets the password prompt.
    page.locator("#console").click()
    page.keyboard.type("root\n")
    console_shows(page, "Password:")
    # The server logs the socket, but not the session's CSRF token (it goes in a header).
    token = page.locator("#console").get_attribute("data-csrf")
    path = re.sub(r"^https?://[^/]+", "", page.url) + "/console"
    assert f'"WebSocket {path}" [accepted]' in server.output()
    assert token and token not in server.output()
    screenshot(page, "instance")
    screenshot(page, "console", show="#console")
    page.get_by_role("link", name="インスタンスの一覧").click()
    row = page.locator("#instance-list tbody tr").first
    assert "web1" in row.inner_text() and "起動中" in row.inner_text()
    screenshot(page, "instances")


def test_restore_under_the_grub_fault_and_cure_it_from_the_panel(
    page: Any, server: AiiroServer
) -> None:
    user = sign_up(page)
    add_ssh_key(page)
    create_instance(page, "db1")
    start_and_wait_running(page)
    instance_url = page.url

    page.get_by_placeholder("名前").fill("nightly")
    page.get_by_role("button", name="スナップショットの作成").click()
    page.get_by_text("スナップショットを作成しています。").wait_for()
    for _ in range(40):  # the snapshot table is not live: look again until it is done
        if page.locator("#snapshots .badge", has_text="作成済み").count():
            break
        page.wait_for_timeout(500)
        page.goto(instance_url)
    assert page.locator("#snapshots .badge", has_text="作成済み").count() == 1

    power(page, "forcestop")
    badge(page).filter(has_text="停止中").wait_for()
    admin(
        server,
        "POST",
        "/_aiiro/faults",
        {"action": "boot_stuck", "count": 1, "account_id": account_id(server, user.email)},
    )
    page.get_by_role("button", name="復元").click()
    page.get_by_text("スナップショットを復元しました。インスタンスを起動してください。").wait_for()
    page.locator('button[data-command="start"]:enabled').click()
    page.wait_for_load_state()
    printed = console_shows(page, "grub>")
    assert "login:" not in printed[printed.rindex("GNU GRUB") :]
    screenshot(page, "console-grub", show="#console")

    # The cure from the panel: force stop, then start.
    power(page, "forcestop")
    badge(page).filter(has_text="停止中").wait_for()
    power(page, "start")
    console_shows(page, "db1 login:")
    badge(page).filter(has_text=re.compile(r"^起動中$")).wait_for()


def test_firewall_rule_editor_and_assignment(page: Any) -> None:
    sign_up(page)
    add_ssh_key(page)
    create_instance(page, "app1")
    badge(page).filter(has_text="停止中").wait_for()
    page.get_by_role("link", name="ファイアウォール", exact=True).click()
    page.get_by_role("link", name="テンプレートの作成").click()
    page.get_by_label("名前", exact=True).fill("web-allow")
    inbound = page.locator("#rules-in tbody tr")
    inbound.nth(0).get_by_label("タイプ").select_option("SSH")
    inbound.nth(0).get_by_label("ソース").fill("0.0.0.0")
    page.locator('[data-add-rule="rules-in"]').click()
    inbound.nth(1).get_by_label("タイプ").select_option("Custom")
    inbound.nth(1).get_by_label("ポート").fill("8080-8089")
    inbound.nth(1).get_by_label("ソース").fill("192.0.2.0/24")
    page.get_by_label(re.compile(r"app1")).check()
    screenshot(page, "firewall-edit")
    page.get_by_role("button", name="保存").click()
    page.get_by_text("ファイアウォールテンプレート「web-allow」を作成しました。").wait_for()
    assert page.locator('#rules-in input[value="8080-8089"]').count() == 1
    page.get_by_role("link", name="ファイアウォール", exact=True).click()
    assert "app1" in page.locator("table").inner_text()
    screenshot(page, "firewalls")


def test_another_account_sees_none_of_it(
    page: Any, context: Any, browser: Any, server: AiiroServer
) -> None:
    sign_up(page, "First Owner")
    add_ssh_key(page, "owner-key")
    create_instance(page, "private1")
    private_url = page.url

    other = browser.new_context(base_url=server.base_url, locale="ja-JP")
    try:
        intruder = other.new_page()
        sign_up(intruder, "Someone Else")
        assert "private1" not in intruder.content()
        intruder.get_by_role("link", name="SSH鍵", exact=True).click()
        assert "owner-key" not in intruder.content()
        response = intruder.goto(private_url)
        assert response.status == 404
        assert "インスタンスが見つかりません。" in intruder.content()
        status = intruder.goto("/panel/instances/status.json")
        assert json.loads(status.text()) == {"instances": []}
    finally:
        other.close()


def test_a_form_without_its_csrf_token_is_refused(page: Any) -> None:
    sign_up(page)
    page.get_by_role("navigation", name="メニュー").get_by_role("link", name="API鍵").click()
    page.evaluate(
        "document.querySelector('form[action=\"/panel/apikeys\"] input[name=csrf]').remove()"
    )
    page.get_by_role("button", name="API鍵の作成").click()
    page.get_by_text("フォームを受け付けられませんでした").wait_for()
    page.goto("/panel/apikeys")
    assert page.get_by_text("API鍵はまだありません。").is_visible()


def test_a_cross_site_form_gets_nowhere(page: Any, server: AiiroServer) -> None:
    sign_up(page)
    # A page elsewhere that posts to the panel: the cookie is SameSite=Lax, so the post
    # arrives signed out, and even with a cookie it would lack the token.
    page.goto("about:blank")
    page.set_content(
        f'<form method="post" action="{server.base_url}/panel/apikeys">'
        '<button id="go">go</button></form>'
    )
    page.click("#go")
    page.wait_for_load_state()
    assert "/panel/signin" in page.url or "フォームを受け付けられませんでした" in page.content()
    page.goto(f"{server.base_url}/panel/apikeys")
    assert page.get_by_text("API鍵はまだありません。").is_visible()


def test_language_switch_keyboard_and_phone(browser: Any, server: AiiroServer) -> None:
    phone = browser.new_context(
        base_url=server.base_url,
        locale="ja-JP",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    try:
        page = phone.new_page()
        user = sign_up(page)
        add_ssh_key(page)
        create_instance(page, "phone1")
        badge(page).filter(has_text="停止中").wait_for()
        page.get_by_role("link", name="インスタンス", exact=True).click()
        page.get_by_role("link", name="English").click()
        page.get_by_role("heading", name="Instances").wait_for()
        page.locator("#instance-list").get_by_text("Stopped").wait_for()
        page.reload()
        assert page.get_by_role("link", name="Create instance").is_visible()
        # Nothing is wider than the phone's screen (tables scroll inside their box).
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "phone-instances")
        page.get_by_role("link", name="日本語").click()
        page.get_by_role("heading", name="インスタンス").wait_for()

        # Keyboard only: the skip link comes first, and signing in needs no mouse.
        page.get_by_role("button", name="ログアウト").click()
        page.wait_for_url(re.compile(r".*/panel/signin$"))
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "本文へ移動"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        page.get_by_label("メールアドレス").focus()
        page.keyboard.type(user.email)
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*/panel/instances$"))
    finally:
        phone.close()
