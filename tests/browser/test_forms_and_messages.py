"""What a newcomer met in the panel (issue 10), checked in Chromium: a key with its usual
comment, the create form showing only what applies, answers shown next to the button
that was pressed and in the page's language, no missing assets, tidy layout."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest

from tests.acceptance.server import AiiroServer
from tests.api.keygen import ed25519_public, rsa_public
from tests.browser.conftest import sign_up
from tests.browser.test_panel import add_ssh_key, badge, create_instance, start_and_wait_running

pytestmark = pytest.mark.browser


def offered(page: Any, select: str) -> list[str]:
    """The options a visitor can see in a select (ids made "N": they vary between runs)."""
    texts = page.locator(f"{select} option:not([hidden])").all_inner_texts()
    return [re.sub(r"\d+", "N", text) for text in texts]


def visible(page: Any, selector: str) -> bool:
    return bool(page.locator(selector).is_visible())


def in_view(locator: Any) -> bool:
    return bool(
        locator.evaluate(
            "e => { const r = e.getBoundingClientRect();"
            " return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }"
        )
    )


def test_a_key_with_its_comment_is_added_without_it_and_a_refused_one_stays_typed(
    page: Any,
) -> None:
    sign_up(page)
    page.get_by_role("link", name="SSH鍵", exact=True).click()
    key = rsa_public()
    page.get_by_label("名前").fill("laptop")
    page.get_by_label("公開鍵").fill(f"{key} root@vm\n")
    page.get_by_role("button", name="SSH鍵を登録").click()
    page.get_by_text(
        "SSH鍵「laptop」を登録しました。"
        "コメント「root@vm」は削除しました: Indigo はコメント付きの鍵を受け付けません。"
    ).wait_for()
    assert page.locator("tr[data-sshkey-id] code").get_attribute("title") == key

    refused = f"{ed25519_public()} me@work"
    page.get_by_label("名前").fill("modern")
    page.get_by_label("公開鍵").fill(refused)
    page.get_by_role("button", name="SSH鍵を登録").click()
    alert = page.locator("#add-sshkey [role=alert]")
    assert alert.inner_text() == (
        "SSH鍵が正しくありません。OpenSSH 形式の RSA 公開鍵(ssh-rsa AAAA...)を入力してください。"
        " I10034"
    )
    assert in_view(alert)
    assert page.get_by_label("名前").input_value() == "modern"
    assert page.get_by_label("公開鍵").input_value() == refused

    page.get_by_role("link", name="English").click()
    page.get_by_label("Name").fill("modern")
    page.get_by_label("Public key").fill(refused)
    page.get_by_role("button", name="Add SSH key").click()
    assert page.locator("#add-sshkey [role=alert]").inner_text() == "Invalid SSH key. I10034"


def test_the_create_form_shows_only_what_applies(page: Any) -> None:
    sign_up(page)
    add_ssh_key(page)
    page.goto("/panel/instances/new")
    os = page.get_by_label("OS", exact=True)
    os.select_option(label="Debian 12")
    shown = {
        name: visible(page, f"#{name}")
        for name in ("region", "os", "import-url", "snapshot", "sshkey", "win-password")
    }
    assert shown == {
        "region": True,
        "os": True,
        "import-url": False,
        "snapshot": False,
        "sshkey": True,
        "win-password": False,
    }
    # Linux needs a key: 「なし」 is not offered.
    assert offered(page, "#sshkey") == ["laptop (ID N)"]

    os.select_option(label="Windows Server 2022 (no-RDS)")
    assert visible(page, "#win-password") and not visible(page, "#sshkey")
    page.get_by_label("Windows 管理者パスワード").fill("Str0ng!Pass")  # it takes typing
    families = page.locator("#plan option:not([hidden])").evaluate_all(
        "options => options.map(o => o.dataset.family)"
    )
    assert families and set(families) == {"windows"}

    page.get_by_role("radio", name="インポートURL").check()
    assert visible(page, "#import-url") and not visible(page, "#os")
    assert not visible(page, "#win-password")
    page.get_by_label("インポートURL(qcow2 イメージ)").fill("https://example.com/a.qcow2")
    # An import may go without a key.
    assert offered(page, "#sshkey") == ["なし", "laptop (ID N)"]

    page.get_by_role("radio", name="スナップショット").check()
    assert visible(page, "#snapshot") and not visible(page, "#import-url")
    assert not visible(page, "#region")


def test_an_error_of_a_lower_card_is_shown_there_in_view_in_the_pages_language(
    page: Any,
) -> None:
    sign_up(page)
    add_ssh_key(page)
    create_instance(page, "web1")
    start_and_wait_running(page)
    instance_url = page.url
    page.get_by_placeholder("名前").fill("nightly")
    page.get_by_role("button", name="スナップショットの作成").click()
    assert in_view(
        page.locator("#snapshots [role=status]", has_text="スナップショットを作成しています。")
    )
    for _ in range(40):  # the snapshot table is not live: look again until it is done
        if page.locator("#snapshots .badge", has_text="作成済み").count():
            break
        page.wait_for_timeout(500)
        page.goto(instance_url)

    page.get_by_role("button", name="復元").click()  # while running: refused
    page.wait_for_url(re.compile(r".*/panel/instances/\d+#snapshots$"))
    alert = page.locator("#snapshots [role=alert]")
    assert (
        alert.inner_text()
        == "スナップショットを復元する前にインスタンスを停止してください。 S10002"
    )
    assert in_view(alert)
    assert page.evaluate("window.scrollY") > 0  # the card is further down the page
    assert page.locator("[role=alert]").count() == 1

    page.get_by_role("link", name="English").click()
    page.get_by_role("button", name="Restore").click()
    alert = page.locator("#snapshots [role=alert]")
    assert alert.inner_text() == "Please turn-off Instance before restoring a snapshot S10002"
    assert in_view(alert)


def test_the_message_of_a_command_under_way_goes_once_it_is_done(page: Any) -> None:
    sign_up(page)
    add_ssh_key(page)
    create_instance(page, "web1")
    created = page.locator("[data-while-busy]", has_text="インスタンス「web1」を作成中です。")
    # Live status turns the badge to Stopped without a reload; the message goes with it.
    page.evaluate("window.__sameDocument = true")
    badge(page).filter(has_text="停止中").wait_for()
    created.wait_for(state="detached")
    assert page.evaluate("window.__sameDocument === true")
    # The addresses read as the CLI writes them: IPv6 compressed, lower case.
    page.locator('button[data-command="start"]:enabled').click()
    badge(page).filter(has_text=re.compile(r"^起動中$")).wait_for()
    facts = dict(
        zip(
            page.locator("dl.facts dt").all_inner_texts(),
            page.locator("dl.facts dd").all_inner_texts(),
            strict=True,
        )
    )
    v6 = facts["セカンダリIPアドレス"]
    assert v6 == ipaddress.IPv6Address(v6).compressed and v6.startswith("2001:db8:")


PAGES = (
    "/panel/signin",
    "/panel/signup",
    "/panel/instances",
    "/panel/instances/new",
    "/panel/sshkeys",
    "/panel/firewalls",
    "/panel/firewalls/new",
    "/panel/apikeys",
)


def test_no_page_misses_an_asset_and_the_layout_holds(page: Any, server: AiiroServer) -> None:
    problems: list[str] = []
    page.on(
        "requestfailed",
        # ERR_ABORTED: the page was left before the load ended (a click moves on at once).
        lambda r: (
            problems.append(f"failed {r.url} {r.failure}")
            if r.failure != "net::ERR_ABORTED"
            else None
        ),
    )
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    page.on(
        "console",
        lambda m: problems.append(f"console {m.text}") if m.type == "error" else None,
    )
    for path in PAGES[:2]:
        page.goto(path)
    sign_up(page)
    add_ssh_key(page)
    add_ssh_key(page, " ".join(["a-long-name"] * 12))  # a row taller than its buttons
    create_instance(page, "web1")
    badge(page).filter(has_text="停止中").wait_for()
    instance_url = page.url
    page.get_by_placeholder("名前").fill("nightly")
    page.get_by_role("button", name="スナップショットの作成").click()
    page.wait_for_url(re.compile(r".*#snapshots$"))
    page.get_by_role("link", name="ファイアウォール", exact=True).click()
    page.get_by_role("link", name="テンプレートの作成").click()
    page.get_by_label("名前", exact=True).fill("web")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(r".*/panel/firewalls/\d+$"))
    page.goto("/panel/apikeys")
    page.get_by_role("button", name="API鍵の作成").click()
    page.get_by_role("heading", name="API鍵を作成しました").wait_for()
    # The snippets wrap inside their boxes rather than run off the right edge.
    for snippet in page.locator("pre").all():
        assert snippet.evaluate("e => e.scrollWidth <= e.clientWidth"), snippet.inner_text()

    for path in (*PAGES[2:], instance_url):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        # Bold is 700 or nothing: at 600 the Japanese fallback font stays regular while the
        # Latin letters turn bold (「インポート**URL**」).
        weights = page.evaluate(
            "[...document.querySelectorAll('body *')]"
            ".filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))"
            ".map(e => getComputedStyle(e).fontWeight)"
        )
        assert set(weights) <= {"400", "700"}, (path, set(weights))
        # Each table row's cells start and end on the row's lines (the 操作 cell too).
        for row in page.locator("tbody tr").all():
            edges = row.evaluate(
                "r => [...r.cells].map(c => { const b = c.getBoundingClientRect();"
                " return `${b.top} ${b.bottom}`; })"
            )
            assert len(set(edges)) == 1, (path, edges)
    assert page.locator("#snapshots tbody tr").count() == 1
    assert problems == []

    icon = page.goto(f"{server.base_url}/favicon.ico")
    assert icon is not None and (icon.status, icon.headers["content-type"]) == (200, "image/x-icon")


def test_a_refused_console_says_why(page: Any, context: Any) -> None:
    sign_up(page)
    add_ssh_key(page)
    create_instance(page, "web1")
    page.get_by_text("接続しました", exact=True).wait_for()
    # Signed out in another tab: the next connection is refused with 4403, which the
    # page can read (a refused handshake would only be 1006) and explain.
    other = context.new_page()
    other.goto("/panel/sshkeys")
    other.get_by_role("button", name="ログアウト").click()
    other.wait_for_url(re.compile(r".*/panel/signin$"))
    page.get_by_role("button", name="再接続").click()
    page.get_by_text("切断されました。ログインし直してから再接続してください。").wait_for()
