"""The pytest plugin (aiiro.testing), run the way a user's suite runs it: a tiny suite in
a separate pytest process that only asks for the fixtures. The server it starts is given
the test's database (`database_url`) through AIIRO_TESTING_DATABASE_URL."""

from __future__ import annotations

# pytester forgets, after each test, the modules first imported during it. httpx imports
# httpcore on its first request and keeps httpcore's exception classes: a later test
# would import a new httpcore whose errors (a refused connection while a server starts)
# httpx no longer turns into its own. Imported here, httpcore is kept.
import httpcore  # noqa: F401
import pytest

from aiiro.testing import start_server
from tests.api.keygen import rsa_public

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _store(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plugin's server uses the test's database (the setting a user would set)."""
    monkeypatch.setenv("AIIRO_TESTING_DATABASE_URL", database_url)


USER_SUITE = """
import json

SSHKEYS = "/webarenaIndigo/v1/vm/sshkey"
KEY = {key!r}


def test_server_and_credentials(aiiro, aiiro_credentials):
    assert aiiro_credentials.api_key == aiiro.api_key
    assert aiiro_credentials.account_id == aiiro.account_id
    assert aiiro.controls.health()["profile"] == "instant"
    assert aiiro.base_url.startswith("http://127.0.0.1:")
    with aiiro.client() as c:
        assert c.get(SSHKEYS).json() == {{"success": True, "total": 0, "sshkeys": []}}
        r = c.post(SSHKEYS, content=json.dumps({{"sshName": "k", "sshKey": KEY}}))
        assert r.status_code == 201, r.text
        assert c.get(SSHKEYS).json()["total"] == 1


def test_each_test_starts_from_a_reset_server(aiiro):
    with aiiro.client() as c:
        assert c.get(SSHKEYS).json()["total"] == 0
    paths = [e["path"] for e in aiiro.controls.requests()]
    assert paths == ["/oauth/v1/accesstokens", SSHKEYS]


def test_faults_and_the_request_log(aiiro):
    aiiro.controls.add_fault("http_error", "sshkey:get", count=1, params={{"status": 503}})
    with aiiro.client() as c:
        assert c.get(SSHKEYS).status_code == 503
        assert c.get(SSHKEYS).status_code == 200
    log = aiiro.controls.requests(account_id=aiiro.account_id)
    assert [e["status"] for e in log if e["path"] == SSHKEYS] == [503, 200]
    assert aiiro.api_secret not in json.dumps(log)
    assert aiiro.controls.faults()[0]["remaining"] == 0


def test_the_clock(aiiro):
    with aiiro.client() as c:
        aiiro.controls.advance(3600)
        assert c.get(SSHKEYS).status_code == 401  # the token outlived its 3599 s
    assert aiiro.controls.clock()["offset_seconds"] >= 3600
    assert aiiro.client().get(SSHKEYS).status_code == 200  # a fresh token works


def test_instances_settle_before_the_answer_in_the_instant_profile(aiiro):
    with aiiro.client() as c:
        key = c.post(SSHKEYS, content=json.dumps({{"sshName": "k", "sshKey": KEY}})).json()
        body = {{"sshKeyId": key["sshKey"]["id"], "regionId": 1, "osId": 22,
                "instancePlan": 13, "instanceName": "web"}}
        r = c.post("/webarenaIndigo/v1/vm/createinstance", content=json.dumps(body))
        assert r.status_code == 201, r.text
        [instance] = c.get("/webarenaIndigo/v1/vm/getinstancelist").json()
        assert instance["instancestatus"] == "Stopped"


def test_credentials_as_the_walkthrough_exports_them(aiiro):
    assert aiiro.env() == {{"IndigoApiKey": aiiro.api_key, "IndigoApiPrivateKey": aiiro.api_secret}}


def test_one_server_for_the_session(aiiro_session, aiiro):
    assert aiiro_session is aiiro and aiiro.process is not None and aiiro.process.poll() is None
"""


def test_a_user_suite_gets_a_server_credentials_and_controls(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_SUITE.format(key=rsa_public()))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=7)


def test_ini_options_and_environment_configure_the_server(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\naiiro_profile = faithful\naiiro_seed = 5\naiiro_quota = true\n")
    monkeypatch.setenv("AIIRO_TESTING_PROFILE", "fast")  # the environment wins over the ini
    pytester.makepyfile(
        test_user="""
def test_settings(aiiro):
    assert aiiro.controls.profile()["profile"] == "fast"
    assert aiiro.controls.profile()["quota"] is True
    assert aiiro.controls.call("GET", "/seed") == {"seed": 5}
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_running_server_named_by_the_environment(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str,
) -> None:
    server = start_server(tmp_path_factory.mktemp("outer") / "data", database_url=database_url)
    try:
        monkeypatch.setenv("AIIRO_TESTING_URL", server.base_url)
        monkeypatch.setenv("AIIRO_TESTING_ADMIN_TOKEN", server.admin_token)
        pytester.makepyfile(
            test_user=f"""
def test_uses_that_server(aiiro):
    assert aiiro.base_url == {server.base_url!r}
    assert aiiro.process is None
    assert aiiro.controls.profile()["profile"] == "instant"
    assert aiiro.token()
"""
        )
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
        result.assert_outcomes(passed=1)
        # The outer server is still up: the plugin stops only what it started.
        assert server.controls.health()["status"] == "ok"
    finally:
        server.stop()
    assert server.process is not None and server.process.poll() is not None


SCENARIO_SUITE = """
import json

import pytest

SSHKEYS = "/webarenaIndigo/v1/vm/sshkey"
KEY = {key!r}


@pytest.mark.aiiro_scenario("quota-storm")
def test_the_marker_sets_up_the_scenario(aiiro):
    assert aiiro.controls.profile()["quota"] is True
    with aiiro.client() as c:
        r = c.get(SSHKEYS)
    assert r.status_code == 429 and r.headers["x-quota-available"] == "0"


def test_the_quota_is_switched_back_after_the_test(aiiro):
    assert aiiro.controls.profile()["quota"] is False


def test_an_instance_scenario_by_call(aiiro):
    assert "destroy-while-running" in [s["name"] for s in aiiro.controls.scenarios()]
    with aiiro.client() as c:
        key = c.post(SSHKEYS, content=json.dumps({{"sshName": "k", "sshKey": KEY}})).json()
        body = {{"sshKeyId": key["sshKey"]["id"], "regionId": 1, "osId": 22,
                "instancePlan": 13, "instanceName": "web"}}
        iid = c.post("/webarenaIndigo/v1/vm/createinstance", content=json.dumps(body)).json()
        iid = iid["vms"]["id"]
        aiiro.scenario("destroy-while-running", instance_id=iid)
        r = c.post("/webarenaIndigo/v1/vm/instance/statusupdate",
                   content=json.dumps({{"instanceId": str(iid), "status": "destroy"}}))
        assert r.json()["errorCode"] == "I10055"


@pytest.mark.aiiro_scenario("slow-stop")
def test_a_profile_scenario(aiiro):
    assert aiiro.controls.profile()["profile"] == "faithful"


def test_the_profile_is_switched_back_after_the_test(aiiro):
    assert aiiro.controls.profile()["profile"] == "instant"
"""


def test_scenarios_by_marker_and_by_call(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=SCENARIO_SUITE.format(key=rsa_public()))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=5)
