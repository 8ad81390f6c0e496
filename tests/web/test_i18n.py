"""Japanese and English: chosen from the browser, switchable, remembered; the labels of
the real dashboard where they are known."""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

import aiiro.domain
import aiiro.emulator
from aiiro.domain import errors, instances
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


# --- Indigo's error messages in the Japanese panel ------------------------------------------

# Raised by the domain, but only behind the operator's admin API, never on a panel page.
PANEL_NEVER_MEETS = {"A4090"}  # an account with that e-mail exists (POST /_aiiro/accounts)


def _domain_modules() -> list[Any]:
    packages = (aiiro.domain,)  # (the emulator's codes are its admin API's)
    names = [m.name for p in packages for m in pkgutil.iter_modules(p.__path__, f"{p.__name__}.")]
    return [importlib.import_module(n) for n in names if n != "aiiro.domain.errors"]


def _raised(module: Any) -> tuple[set[str], set[str]]:
    """The error codes a module raises and the fields it names in missing() / invalid():
    the code argument of bad_request(), not_found() and IndigoError(), read from its
    source and resolved against the module (a literal, a constant, module.CONSTANT)."""
    codes: set[str] = set()
    fields: set[str] = set()
    for node in ast.walk(ast.parse(Path(module.__file__).read_text("utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        position = {"bad_request": 0, "not_found": 0, "IndigoError": 1}.get(str(name))
        if name in ("missing", "invalid", "checked"):  # checked(): domain/names.py
            codes.add(errors.MISSING_FIELD if name == "missing" else errors.INVALID_FIELD)
            if node.args and isinstance(node.args[0], ast.Constant):
                fields.add(node.args[0].value)
        if position is None or len(node.args) <= position:
            continue
        arg = node.args[position]
        if isinstance(arg, ast.Constant):
            codes.add(arg.value)
        elif isinstance(arg, ast.Name) and isinstance(getattr(module, arg.id, None), str):
            codes.add(getattr(module, arg.id))
        elif isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name):
            value = getattr(getattr(module, arg.value.id, None), arg.attr, None)
            if isinstance(value, str):
                codes.add(value)
    return codes, fields


def test_every_error_the_panel_can_meet_has_japanese_words() -> None:
    codes: set[str] = set(instances.REFUSALS)  # raised as bad_request(decision.code, ...)
    fields: set[str] = set()
    for module in _domain_modules():
        more_codes, more_fields = _raised(module)
        codes |= more_codes
        fields |= more_fields
    table = i18n.error_table("ja")
    assert {"I10034", "S10002", "A4001", "I10016", "F60009", "A4060"} <= codes  # the scan works
    assert sorted(codes - PANEL_NEVER_MEETS - set(table["codes"])) == []
    assert {"sshKeyId", "instanceName", "sshName"} <= fields
    assert sorted(fields - set(table["fields"])) == []
    for text in table["codes"].values():
        text.format(field="F", message="M")  # only the two placeholders the panel fills


def test_japanese_words_with_the_field_and_english_as_the_api_says_it() -> None:
    err = errors.missing("sshKeyId")
    assert i18n.error_text("ja", err) == "SSH鍵を指定してください。"
    assert i18n.error_text("en", err) == "The sshKeyId field is required."
    err = errors.IndigoError(400, "I10016", "This instance is already running.")
    assert i18n.error_text("ja", err) == "インスタンスは既に起動しています。"
    assert i18n.error_text("en", err) == "This instance is already running."
    # A code the table does not know keeps the API's words.
    err = errors.IndigoError(500, "A5001", "Injected fault.")
    assert i18n.error_text("ja", err) == "Injected fault."
