"""The request policy: token cache and refresh, one retry on 401, quota waits, retries with
backoff for safe requests only — on a scripted API and a virtual clock."""

from __future__ import annotations

import logging
import os
import stat

import pytest

from aiiro.client import NetworkError, QuotaError, ServerError
from aiiro.client_core.config import Places
from tests.client.fake import FakeIndigo, network_down

LIST = "/webarenaIndigo/v1/vm/getinstancelist"
TOKEN = "/oauth/v1/accesstokens"
GATEWAY_429 = (
    '{"errorCode": "429", "errorMessage": "Too Many Request.", "developerMessage": '
    '"Rate limit quota violation. Quota limit  exceeded. Identifier : x", "moreInfo": null, '
    '"requestId": "r"}'
)


def count(fake: FakeIndigo, what: str) -> int:
    return sum(1 for p in fake.paths() if p.startswith(what))


def test_token_cached_on_disk_0600_per_endpoint_and_key(fake: FakeIndigo, places: Places) -> None:
    fake.on("GET", LIST, (200, "[]"))
    fake.client(places).instances.list()
    fake.client(places).instances.list()  # a new client, as a new CLI run
    assert count(fake, f"POST {TOKEN}") == 1
    token_dir = os.path.join(places.cache_dir, "tokens")
    [name] = os.listdir(token_dir)
    path = os.path.join(token_dir, name)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(token_dir).st_mode) == 0o700
    with open(path) as f:
        text = f.read()
    assert "secret" not in text and "key" not in name
    # Another key gets its own token.
    from aiiro.client import Indigo

    other = Indigo(
        "key2",
        "secret2",
        "https://indigo.test",
        places=places,
        transport=fake.send,
        clock=fake.clock,
        sleep=fake.sleep,
    )
    other.instances.list()
    assert count(fake, f"POST {TOKEN}") == 2
    assert len(os.listdir(token_dir)) == 2


def test_token_refreshed_before_expiry(fake: FakeIndigo, places: Places) -> None:
    fake.on("GET", LIST, (200, "[]"))
    indigo = fake.client(places)
    indigo.instances.list()
    fake.now += 3599 - 120  # still two minutes left: reused
    indigo.instances.list()
    assert count(fake, f"POST {TOKEN}") == 1
    fake.now += 70  # under a minute left: replaced before it can expire mid-request
    indigo.instances.list()
    assert count(fake, f"POST {TOKEN}") == 2
    assert fake.sent[-1].headers["Authorization"] == "Bearer " + "tok" + "2".zfill(25)


def test_one_retry_with_a_new_token_on_401(fake: FakeIndigo, places: Places) -> None:
    expired = (
        401,
        '{"errorCode":"401","errorMessage":"Invalid access token.",'
        '"developerMessage":"","moreInfo":null,"requestId":"r"}',
    )
    fake.on("GET", LIST, expired, (200, "[]"))
    assert fake.client(places).instances.list() == []
    assert fake.paths() == [f"POST {TOKEN}", f"GET {LIST}", f"POST {TOKEN}", f"GET {LIST}"]


def test_a_second_401_is_reported(fake: FakeIndigo, places: Places) -> None:
    from aiiro.client import AuthError

    fake.on("GET", LIST, (401, '{"errorCode":"401","errorMessage":"Invalid access token."}'))
    with pytest.raises(AuthError):
        fake.client(places).instances.list()
    assert count(fake, f"GET {LIST}") == 2


def test_429_waits_for_the_quota_reset(
    fake: FakeIndigo, places: Places, caplog: pytest.LogCaptureFixture
) -> None:
    reset_ms = int((fake.now + 17) * 1000)
    headers = {"X-Quota-Allowed": "6", "X-Quota-Available": "0", "X-Quota-Reset": str(reset_ms)}
    fake.on("GET", LIST, (429, GATEWAY_429, headers), (200, "[]"))
    with caplog.at_level(logging.DEBUG, logger="aiiro.client"):
        assert fake.client(places).instances.list() == []
    [waited] = fake.slept
    assert 17 <= waited <= 17.3  # until the reset, plus a little jitter
    assert "quota used up" in caplog.text


def test_no_request_is_wasted_when_the_quota_is_known_to_be_used_up(
    fake: FakeIndigo, places: Places
) -> None:
    reset_ms = int((fake.now + 40) * 1000)
    last = {"X-Quota-Allowed": "6", "X-Quota-Available": "0", "X-Quota-Reset": str(reset_ms)}
    fake.on("GET", LIST, (200, "[]", last), (200, "[]"))
    indigo = fake.client(places)
    indigo.instances.list()
    indigo.instances.list()  # waits first instead of drawing a 429
    assert count(fake, f"GET {LIST}") == 2
    assert len(fake.slept) == 1 and fake.slept[0] >= 40


def test_quota_wait_has_a_limit(fake: FakeIndigo, places: Places) -> None:
    reset_ms = int((fake.now + 50) * 1000)
    headers = {"X-Quota-Available": "0", "X-Quota-Reset": str(reset_ms)}
    fake.on("GET", LIST, (429, GATEWAY_429, headers))
    with pytest.raises(QuotaError) as caught:
        fake.client(places, quota_wait=30).instances.list()
    assert caught.value.hint and "quota" in caught.value.hint
    assert fake.slept == []


def test_429_without_reset_backs_off(fake: FakeIndigo, places: Places) -> None:
    fake.on("GET", LIST, (429, GATEWAY_429), (429, GATEWAY_429), (200, "[]"))
    assert fake.client(places).instances.list() == []
    assert len(fake.slept) == 2 and fake.slept[1] > 0


def test_safe_requests_retry_5xx_and_network_errors_with_backoff(
    fake: FakeIndigo, places: Places
) -> None:
    fake.on("GET", LIST, (503, "{}"), network_down(), (502, "oops"), (200, "[]"))
    assert fake.client(places).instances.list() == []
    assert count(fake, f"GET {LIST}") == 4
    # Exponential backoff with jitter: each wait within [base*2^n / 2, base*2^n].
    for n, waited in enumerate(fake.slept):
        ceiling = 0.5 * 2**n
        assert ceiling / 2 <= waited <= ceiling


def test_retries_give_up(fake: FakeIndigo, places: Places) -> None:
    fake.on("GET", LIST, (500, '{"success":false,"errorMessage":"boom","errorCode":"A5000"}'))
    with pytest.raises(ServerError):
        fake.client(places, max_retries=2).instances.list()
    assert count(fake, f"GET {LIST}") == 3


def test_unsafe_requests_are_not_resent(fake: FakeIndigo, places: Places) -> None:
    path = "/webarenaIndigo/v1/vm/instance/statusupdate"
    fake.on("POST", path, (503, "{}"), (200, '{"success":true}'))
    with pytest.raises(ServerError):
        fake.client(places).instances.start(1)
    fake.on("POST", path, network_down(), (200, '{"success":true}'))
    with pytest.raises(NetworkError):
        fake.client(places).instances.start(1)
    assert count(fake, f"POST {path}") == 2
    # createinstance's sibling GET that creates an API key is not resent either.
    fake.on("GET", "/webarenaIndigo/v1/auth/create/apikey", (503, "{}"), (201, "{}"))
    with pytest.raises(ServerError):
        fake.client(places).apikeys.create()


def test_a_429_is_resent_even_for_unsafe_requests(fake: FakeIndigo, places: Places) -> None:
    path = "/webarenaIndigo/v1/vm/instance/statusupdate"
    fake.on("POST", path, (429, GATEWAY_429), (200, '{"success":true,"sucessCode":"I20008"}'))
    assert fake.client(places).instances.start(1).code == "I20008"


def test_requests_carry_json_and_the_bearer_token(fake: FakeIndigo, places: Places) -> None:
    path = "/webarenaIndigo/v1/vm/instance/statusupdate"
    fake.on("POST", path, (200, '{"success":true}'))
    fake.client(places).instances.start(616513)
    token_request, start = fake.sent
    assert token_request.headers.get("Authorization") is None
    import json

    assert json.loads(token_request.content or b"") == {
        "grantType": "client_credentials",
        "clientId": "key",
        "clientSecret": "secret",
        "code": "",
    }
    assert start.headers["Authorization"].startswith("Bearer tok")
    assert start.headers["Content-Type"] == "application/json"
    assert json.loads(start.content or b"") == {"instanceId": "616513", "status": "start"}
