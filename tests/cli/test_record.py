"""`aiiro record`: the recording proxy in front of an in-process aiiro, a client session
through it, and the file it writes — which must hold no credential, token, key, name or
address of the session, wherever they turn up."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from aiiro.fidelity.recorder import Exchange, Recording, proxy_app, read
from aiiro.redaction import STAND_IN_KEY, V4_RANGES, V6_RANGE
from aiiro.runtime import Runtime
from tests.cli.fidelity_env import PROXY, make_pubkey, session, through_proxy, upstream
from tests.conftest import Account

TOKEN_PATH = "/oauth/v1/accesstokens"


@pytest.fixture
def recorded(
    tmp_path: Path, client: TestClient, rt: Runtime
) -> Iterator[tuple[TestClient, Recording]]:
    recording = Recording(tmp_path / "session.jsonl", "http://aiiro.test")
    app = proxy_app("http://aiiro.test", recording, upstream(client), rt.clock.time)
    with TestClient(app, base_url=PROXY) as proxy:
        yield proxy, recording


@pytest.fixture(scope="module")
def pubkey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_pubkey(tmp_path_factory.mktemp("keys"))


def test_a_session_through_the_proxy_keeps_no_secret(
    tmp_path: Path,
    recorded: tuple[TestClient, Recording],
    rt: Runtime,
    alice: Account,
    pubkey: Path,
) -> None:
    proxy, recording = recorded
    session(through_proxy(tmp_path, proxy, rt, alice), pubkey)
    raw_list = alice.get("/webarenaIndigo/v1/vm/getinstancelist").json()
    tokens = {
        json.loads(x.response_body)["accessToken"]
        for x in recording.exchanges
        if x.path == TOKEN_PATH and x.status == 201
    }
    inst = raw_list[0]
    made = next(
        json.loads(x.response_body) for x in recording.exchanges if x.path.endswith("create/apikey")
    )
    secrets = {
        alice.api_key,
        alice.api_secret,
        *tokens,
        made["apiKey"],
        made["apiSecret"],
        pubkey.read_text().split()[1],  # the key material
        "alices-laptop",
        "payroll-db",
        "Alice Example",  # the account holder, in instancecreatedbyuser
        "8.8.4.4",
        inst["ip"],
        inst["ipaddress"],
        inst["macaddress"],
        inst["vnc_passwd"],
        inst["uuid"],
    }
    assert len(tokens) == 1 and all(secrets)
    data = (tmp_path / "session.jsonl").read_bytes()
    assert [s for s in secrets if s.encode() in data or s.lower().encode() in data] == []

    target, exchanges = read(tmp_path / "session.jsonl")
    assert target == "http://aiiro.test"
    assert len(exchanges) == len(recording.exchanges) >= 10
    token_call = next(x for x in exchanges if x["path"] == TOKEN_PATH)
    assert token_call["request"]["body"] == {
        "grantType": "client_credentials",
        "clientId": "***",
        "clientSecret": "***",
        "code": "***",
    }
    assert token_call["response"]["body"]["accessToken"] == "***"
    listed = [x for x in exchanges if x["path"].endswith("/getinstancelist")][-1]
    assert listed["request"]["headers"]["authorization"] == "Bearer ***"
    element = listed["response"]["body"][0]
    # Types and order kept; names and addresses stood in for.
    assert list(element) == list(inst)
    created = next(x for x in exchanges if x["path"].endswith("/createinstance"))
    sent_name = created["request"]["body"]["instanceName"]
    assert sent_name.startswith("name-")
    assert element["instance_name"] == sent_name  # one stand-in for one name, everywhere
    assert element["id"] == inst["id"]
    assert isinstance(element["vnc_passwd"], str)
    key_call = next(x for x in exchanges if x["path"].endswith("/vm/sshkey"))
    assert key_call["request"]["body"] == {"sshName": "name-1", "sshKey": STAND_IN_KEY}
    assert element["sshkey_id"] == key_call["response"]["body"]["sshKey"]["id"]
    assert (tmp_path / "session.jsonl").stat().st_mode & 0o777 == 0o600


def test_the_json_form_is_one_document(tmp_path: Path, client: TestClient, alice: Account) -> None:
    recording = Recording(tmp_path / "session.json", "https://user:pw@api.example/")
    app = proxy_app("http://aiiro.test", recording, transport=upstream(client))
    with TestClient(app, base_url=PROXY) as proxy:
        answer = proxy.get("/webarenaIndigo/v1/vm/sshkey", headers=alice.auth)
    assert answer.status_code == 200
    assert answer.json() == {"success": True, "total": 0, "sshkeys": []}
    whole = json.loads((tmp_path / "session.json").read_text())
    assert whole["aiiro-recording"] == 1
    assert whole["target"] == "https://***@api.example/"
    assert [(x["method"], x["path"], x["status"]) for x in whole["exchanges"]] == [
        ("GET", "/webarenaIndigo/v1/vm/sshkey", 200)
    ]
    assert alice.token not in (tmp_path / "session.json").read_text()


# --- secrets in odd places -------------------------------------------------------------------

_STAND_INS = [ipaddress.ip_network(f"{r}/24") for r in V4_RANGES] + [
    ipaddress.ip_network(f"{V6_RANGE}/20")
]
secret_text = st.text(
    alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789-_.~",
    min_size=8,
    max_size=40,
).map(lambda s: f"k{s}")
addresses = st.ip_addresses().filter(
    lambda a: str(a) not in ("0.0.0.0", "::") and not any(a in n for n in _STAND_INS)
)
contexts = st.sampled_from(["{}", "ip {} here", "[{}]", "{},{}", "a={};", "from {}.", "{}/24"])
keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC_", min_size=1, max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=secret_text,
    secret=secret_text,
    token=secret_text,
    address=addresses,
    context=contexts,
    field=keys,
    nested=st.booleans(),
)
def test_no_secret_reaches_the_file_wherever_it_turns_up(
    tmp_path_factory: pytest.TempPathFactory,
    key: str,
    secret: str,
    token: str,
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    context: str,
    field: str,
    nested: bool,
) -> None:
    """A token request teaches the recording the key, secret and token; then they, and an
    address, turn up under any key, nested or not, in paths, queries, bodies and messages."""
    path = tmp_path_factory.mktemp("odd") / "odd.jsonl"
    recording = Recording(path, "https://api.customer.jp")
    shown = context.format(address, address)
    odd: Any = {field: [f"{secret} and {token}", shown]}
    if nested:
        odd = {"outer": [odd, {"deeper": {field: key}}]}
    recording.add(
        Exchange(
            0.0, "POST", TOKEN_PATH, "", {"content-type": "application/json"},
            json.dumps({"grantType": "client_credentials", "clientId": key,
                        "clientSecret": secret, "code": ""}).encode(),
            201, {"content-type": "application/json"},
            json.dumps({"accessToken": token, "expiresIn": "3599"}).encode(),
        )
    )  # fmt: skip
    recording.add(
        Exchange(
            1.0, "POST", f"/webarenaIndigo/v1/{field}/{token}", f"{field}={secret}&q={shown}",
            {"authorization": f"Bearer {token}", "x-api-key": key},
            json.dumps(odd).encode(),
            400, {"content-type": "application/json", "x-request-id": secret},
            json.dumps({"errorMessage": f"bad token {token} for {key} at {shown}"}).encode(),
        )
    )  # fmt: skip
    data = path.read_bytes()
    for value in (key, secret, token):
        assert value.encode() not in data, value
    for form in {str(address), address.exploded}:
        # As an address: not inside a longer one (a stand-in 3fff::1 holds the text "::1").
        alone = re.compile(rb"(?<![\w.:])" + re.escape(form.encode()) + rb"(?![\w:]|\.\d)")
        assert alone.search(data) is None, form
