"""Browser tests of the control panel: Playwright driving Debian's Chromium
(/usr/bin/chromium, installed by scripts/ci-deps-browser.sh; never `playwright install`)
against a real `aiiro serve` process in the `fast` profile.

Without Chromium or the playwright package the tests are skipped with the reason, unless
AIIRO_REQUIRE_BROWSER=1 or CI=true, where that is an error. Screenshots of the main pages go
to $AIIRO_SCREENSHOTS (`make screenshots` sets it to docs/screenshots/), else to a scratch
directory, so an ordinary test run leaves the tree unchanged.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.server import AiiroServer

CHROMIUM = os.environ.get("AIIRO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(
    os.environ.get("AIIRO_SCREENSHOTS") or Path(tempfile.gettempdir()) / "aiiro-screenshots"
)
PASSWORD = "correct horse battery"
# Long enough for a state change in the `fast` profile (about a second each) and a poll.
WAIT_MS = 20_000

_emails = count(1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Chromium through Playwright")


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (scripts/ci-deps-browser.sh)"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if shutil.which("curl") is None:
        return "curl is not installed"
    return None


@pytest.fixture(scope="session")
def browser_ready() -> None:
    why = _missing()
    if why is not None:
        if os.environ.get("AIIRO_REQUIRE_BROWSER") == "1" or os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)


@pytest.fixture(scope="session")
def server(browser_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AiiroServer]:
    with AiiroServer(tmp_path_factory.mktemp("panel") / "data") as srv:
        srv.start("--profile", "fast")
        yield srv


@pytest.fixture(scope="session")
def browser(browser_ready: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def context(browser: Any, server: AiiroServer) -> Iterator[Any]:
    ctx = browser.new_context(
        base_url=server.base_url, locale="ja-JP", viewport={"width": 1280, "height": 860}
    )
    ctx.set_default_timeout(WAIT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    p = context.new_page()
    # Confirmation dialogs (delete, force stop, restore) are answered "OK", as a user would.
    p.on("dialog", lambda dialog: dialog.accept())
    return p


def screenshot(page: Any, name: str, full_page: bool = True, show: str | None = None) -> None:
    """A PNG of the page in SCREENSHOTS. `show`: scroll that element into view first
    and take the window only (xterm.js draws only while the terminal is on screen)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if show is not None:
        page.locator(show).scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        full_page = False
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


@dataclass
class User:
    name: str
    email: str


def sign_up(page: Any, name: str = "Taro Indigo") -> User:
    user = User(name, f"user{next(_emails)}-{os.getpid()}@example.com")
    page.goto("/panel/signup")
    page.get_by_label("お名前(契約者名)").fill(user.name)
    page.get_by_label("メールアドレス").fill(user.email)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="アカウントを作成").click()
    page.wait_for_url(re.compile(r".*/panel/instances$"))
    return user


def admin(server: AiiroServer, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        server.base_url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {server.admin_token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.loads(r.read() or b"null")


def account_id(server: AiiroServer, email: str) -> int:
    return next(a["id"] for a in admin(server, "GET", "/_aiiro/accounts") if a["email"] == email)
