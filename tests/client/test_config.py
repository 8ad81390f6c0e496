"""Where endpoint and credentials come from: arguments > environment > profile >
~/.webarena_secret; a profile named explicitly counts as an argument."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from aiiro.client import ConfigError
from aiiro.client_core.config import (
    DEFAULT_ENDPOINT,
    Places,
    ProfileFile,
    Settings,
    read_profiles,
    resolve,
    write_profiles,
)


def with_env(places: Places, **env: str) -> Places:
    return places._replace(environ=env)


def write_secret(places: Places, key: str, secret: str) -> None:
    # The seed's own format (what `aiiro serve --write-secret` writes).
    with open(os.path.join(places.home, ".webarena_secret"), "w") as f:
        f.write(f"export IndigoApiKey={key}\nexport IndigoApiPrivateKey={secret}\n")


def profiles(places: Places, default: str | None = None, **named: dict[str, str]) -> None:
    write_profiles(places, ProfileFile(default, dict(named)))


def test_nothing_configured(places: Places) -> None:
    s = resolve(places=places)
    assert (s.endpoint, s.api_key, s.source) == (DEFAULT_ENDPOINT, None, "none")
    with pytest.raises(ConfigError) as caught:
        s.require_credentials()
    assert caught.value.hint and "aiiro configure" in caught.value.hint


def test_secret_file_is_the_last_resort(places: Places) -> None:
    write_secret(places, "filekey", "filesecret")
    s = resolve(places=places)
    assert (s.api_key, s.api_secret) == ("filekey", "filesecret")
    assert s.source.endswith(".webarena_secret")


def test_profile_beats_secret_file(places: Places) -> None:
    write_secret(places, "filekey", "filesecret")
    profiles(places, "work", work={"endpoint": "http://w:1", "api_key": "pk", "api_secret": "ps"})
    s = resolve(places=places)
    assert (s.endpoint, s.api_key, s.profile) == ("http://w:1", "pk", "work")


@pytest.mark.parametrize(
    ("key_var", "secret_var"),
    [
        ("IndigoApiKey", "IndigoApiPrivateKey"),
        ("WEBARENA_INDIGO_CLIENT_ID", "WEBARENA_INDIGO_CLIENT_SECRET"),
        ("AIIRO_API_KEY", "AIIRO_API_SECRET"),
    ],
)
def test_environment_beats_the_default_profile(
    places: Places, key_var: str, secret_var: str
) -> None:
    profiles(places, "work", work={"endpoint": "http://w:1", "api_key": "pk", "api_secret": "ps"})
    env = with_env(
        places, **{key_var: "ek", secret_var: "es"}, WEBARENA_INDIGO_ENDPOINT="http://e:2"
    )
    s = resolve(places=env)
    assert (s.endpoint, s.api_key, s.api_secret, s.source) == (
        "http://e:2",
        "ek",
        "es",
        f"{key_var} in the environment",
    )


def test_aiiro_variables_come_first(places: Places) -> None:
    env = with_env(
        places,
        AIIRO_API_KEY="a",
        AIIRO_API_SECRET="as",
        IndigoApiKey="i",
        IndigoApiPrivateKey="is",
        AIIRO_ENDPOINT="http://a:1",
        WEBARENA_INDIGO_ENDPOINT="http://w:1",
    )
    s = resolve(places=env)
    assert (s.api_key, s.endpoint) == ("a", "http://a:1")


def test_arguments_beat_everything(places: Places) -> None:
    write_secret(places, "filekey", "filesecret")
    profiles(places, "work", work={"api_key": "pk", "api_secret": "ps"})
    env = with_env(places, IndigoApiKey="ek", IndigoApiPrivateKey="es", AIIRO_ENDPOINT="http://e")
    s = resolve(api_key="ak", api_secret="as", endpoint="http://arg/", places=env)
    assert (s.api_key, s.api_secret, s.endpoint, s.source) == (
        "ak",
        "as",
        "http://arg",
        "arguments",
    )


def test_a_named_profile_beats_the_environment(places: Places) -> None:
    profiles(places, None, prod={"endpoint": "http://p:1", "api_key": "pk", "api_secret": "ps"})
    env = with_env(places, IndigoApiKey="ek", IndigoApiPrivateKey="es", AIIRO_ENDPOINT="http://e")
    s = resolve(profile="prod", places=env)
    assert (s.api_key, s.endpoint, s.profile) == ("pk", "http://p:1", "prod")
    # Named through the environment instead, it ranks as a profile: the variables win.
    s = resolve(places=with_env(env, **env.environ, AIIRO_CLIENT_PROFILE="prod"))
    assert (s.api_key, s.endpoint, s.profile) == ("ek", "http://e", "prod")


def test_unknown_profile_is_an_error(places: Places) -> None:
    with pytest.raises(ConfigError, match="no profile 'nope'"):
        resolve(profile="nope", places=places)


def test_key_and_secret_come_together(places: Places) -> None:
    with pytest.raises(ConfigError, match="IndigoApiPrivateKey"):
        resolve(places=with_env(places, IndigoApiKey="only-the-key"))
    with pytest.raises(ConfigError):
        resolve(api_key="k", places=places)


def test_profile_file_is_private_and_round_trips(places: Places) -> None:
    profiles(
        places,
        "a",
        a={
            "endpoint": "http://x",
            "api_key": "k",
            "api_secret": "s",
            "admin_token": "t",
            "ssh_user": "debian",
        },
    )
    mode = stat.S_IMODE(os.stat(places.profile_file).st_mode)
    assert mode == 0o600
    pf = read_profiles(places.profile_file)
    assert pf.default == "a" and pf.profiles["a"]["ssh_user"] == "debian"
    s = resolve(places=places)
    assert (s.admin_token, s.ssh_user) == ("t", "debian")


def test_secret_file_variants(places: Places) -> None:
    with open(os.path.join(places.home, ".webarena_secret"), "w") as f:
        f.write("# mine\nIndigoApiKey='quoted'\n  export IndigoApiPrivateKey=\"dq\"  \n")
    s = resolve(places=places)
    assert (s.api_key, s.api_secret) == ("quoted", "dq")


def test_places_from_environment(tmp_path: os.PathLike[str]) -> None:
    p = Places.from_environ({"HOME": "/h", "XDG_CONFIG_HOME": "/c"})
    assert p.config_dir == "/c/aiiro" and p.cache_dir == "/h/.cache/aiiro"
    assert p.secret_file == "/h/.webarena_secret"
    p = Places.from_environ({"HOME": "/h", "AIIRO_CONFIG_DIR": "/x", "AIIRO_CACHE_DIR": "/y"})
    assert (p.config_dir, p.cache_dir) == ("/x", "/y")


@pytest.mark.parametrize(
    "setup",
    ["nothing", "secret file", "profile", "environment", "named profile", "AIIRO_SECRET_FILE"],
)
def test_without_places_the_process_environment_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setup: str
) -> None:
    """Without a Places, `resolve` reads the process's own: os.environ and the same
    directories, with the same result as with one."""
    for var in list(os.environ):
        if var.startswith(("AIIRO_", "Indigo", "WEBARENA_", "XDG_")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    places = Places.from_environ()
    assert places.profile_file == str(tmp_path / "config" / "aiiro" / "config.toml")
    named = None
    if setup == "secret file":
        write_secret(places, "fk", "fs")
    elif setup in ("profile", "named profile"):
        profiles(places, "p", p={"endpoint": "http://p:1", "api_key": "pk", "api_secret": "ps"})
        named = "p" if setup == "named profile" else None
        monkeypatch.setenv("AIIRO_API_KEY", "ek")
        monkeypatch.setenv("AIIRO_API_SECRET", "es")
    elif setup == "environment":
        monkeypatch.setenv("IndigoApiKey", "ik")
        monkeypatch.setenv("IndigoApiPrivateKey", "is")
        monkeypatch.setenv("WEBARENA_INDIGO_ENDPOINT", "http://e:2")
    elif setup == "AIIRO_SECRET_FILE":
        other = tmp_path / "elsewhere"
        other.write_text("export IndigoApiKey=ok\nexport IndigoApiPrivateKey=os\n")
        monkeypatch.setenv("AIIRO_SECRET_FILE", str(other))

    def seen(s: Settings) -> tuple[object, ...]:
        return (s.endpoint, s.api_key, s.api_secret, s.profile, s.source)

    assert seen(resolve(profile=named)) == seen(
        resolve(profile=named, places=Places.from_environ())
    )


def test_the_secret_file_carries_its_endpoint(places: Places) -> None:
    """What `aiiro serve --write-secret` writes: read (not sourced), the file's endpoint
    comes with its key and secret."""
    with open(os.path.join(places.home, ".webarena_secret"), "w") as f:
        f.write(
            "export IndigoApiKey=fk\nexport IndigoApiPrivateKey=fs\n"
            "export AIIRO_ENDPOINT=http://127.0.0.1:18092\n"
        )
    s = resolve(places=places)
    assert (s.endpoint, s.api_key) == ("http://127.0.0.1:18092", "fk")
    path = os.path.join(places.home, ".webarena_secret")
    assert s.where() == f"http://127.0.0.1:18092 (from {path})"
    # The endpoint comes from where the credentials came from, not from a variable that
    # names another server.
    s = resolve(places=with_env(places, AIIRO_ENDPOINT="http://elsewhere:1"))
    assert (s.endpoint, s.api_key) == ("http://127.0.0.1:18092", "fk")
    # An explicit endpoint still wins.
    s = resolve(endpoint="http://given:2", places=places)
    assert (s.endpoint, s.endpoint_source) == ("http://given:2", "arguments")


def test_where_the_endpoint_came_from(places: Places) -> None:
    assert resolve(places=places).where() == (
        "https://api.customer.jp (the default: the real Indigo service)"
    )
    profiles(places, "work", work={"endpoint": "http://w:1", "api_key": "pk", "api_secret": "ps"})
    assert resolve(places=places).where() == "http://w:1 (from profile 'work')"
    env = with_env(places, IndigoApiKey="ek", IndigoApiPrivateKey="es", AIIRO_ENDPOINT="http://e")
    assert resolve(places=env).where() == "http://e (from AIIRO_ENDPOINT in the environment)"


def test_a_half_given_pair_says_where_the_other_half_is(places: Places) -> None:
    profiles(places, "work", work={"endpoint": "http://w:1", "api_key": "pk", "api_secret": "ps"})
    with pytest.raises(ConfigError) as caught:
        resolve(api_secret="wrong", places=places)
    assert caught.value.message == "an API secret was given without its key"
    assert caught.value.hint == (
        "give the API key too (--api-key) (the credentials in force come from profile "
        "'work'): a key and its secret always come from one place"
    )
