"""Japanese and English: chosen from the browser, switchable, remembered; the labels of
the real dashboard where they are known."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from aiiro.web import i18n
from tests.web.conftest import Visitor


def test_both_catalogues_have_the_same_keys() -> None:
    folder = resources.files("aiiro.web").joinpath("catalogues")
    ja = json.loads(folder.joinpath("ja.json").read_text("utf-8"))
    en = json.loads(folder.joinpath("en.json").read_text("utf-8"))
    assert set(ja) == set(en)
    assert all(v.strip() for v in [*ja.values(), *en.values()])


def test_labels_of_the_real_dashboard() -> None:
    # Names the real Indigo dashboard uses (its help pages and users' write-ups).
    assert i18n.translate("ja", "nav.group.apikeys") == "API鍵の管理"
    assert i18n.translate("ja", "apikeys.create") == "API鍵の作成"
    assert i18n.translate("ja", "nav.group.instances") == "インスタンス管理"
    assert i18n.translate("ja", "apikeys.key") == "API鍵"
    assert i18n.translate("ja", "apikeys.secret") == "API秘密鍵"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9", "en"),
        ("ja,en-US;q=0.9,en;q=0.8", "ja"),
        ("fr-FR,fr;q=0.9,en;q=0.5,ja;q=0.4", "en"),
        ("en;q=0.2,ja;q=0.8", "ja"),
        ("de,fr", None),
        ("", None),
        ("en;q=abc,ja", "ja"),
        ("en;q=0", None),
    ],
)
def test_accept_language(header: str, expected: str | None) -> None:
    assert i18n.from_accept_language(header) == expected


def test_the_browser_language_chooses_and_japanese_is_the_default(
    alice_web: Visitor,
) -> None:
    en = alice_web.get("/panel/apikeys", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in en.text
    assert "API key management" in en.text and "Create API key" in en.text
    ja = alice_web.get("/panel/apikeys", headers={"Accept-Language": "ja-JP"})
    assert '<html lang="ja">' in ja.text
    assert "API鍵の管理" in ja.text and "API鍵の作成" in ja.text and "インスタンス管理" in ja.text
    none = alice_web.get("/panel/apikeys", headers={"Accept-Language": "de"})
    assert '<html lang="ja">' in none.text


def test_switching_is_remembered_over_the_browser_language(alice_web: Visitor) -> None:
    r = alice_web.get("/panel/lang/en?next=/panel/sshkeys", headers={"Accept-Language": "ja"})
    assert (r.status_code, r.headers["location"]) == (303, "/panel/sshkeys")
    assert "aiiro_lang=en" in r.headers["set-cookie"]
    page = alice_web.get("/panel/sshkeys", headers={"Accept-Language": "ja"})
    assert '<html lang="en">' in page.text and "Add an SSH key" in page.text
    # The page links to the other language, back to the same page.
    assert 'href="/panel/lang/ja?next=/panel/sshkeys"' in page.text
    alice_web.get("/panel/lang/ja?next=/panel/sshkeys")
    assert "SSH鍵の登録" in alice_web.get("/panel/sshkeys").text


def test_unknown_language_and_foreign_next_are_ignored(alice_web: Visitor) -> None:
    r = alice_web.get("/panel/lang/xx?next=https://evil.example/")
    assert r.headers["location"] == "/panel/instances"
    assert "aiiro_lang" not in r.headers.get("set-cookie", "")


def test_messages_with_values_and_missing_keys() -> None:
    assert i18n.translate("en", "sshkeys.added", name="k1") == 'SSH key "k1" was added.'
    assert i18n.translate("ja", "sshkeys.added", name="k1") == "SSH鍵「k1」を登録しました。"
    assert i18n.translate("ja", "no.such.key") == "no.such.key"
