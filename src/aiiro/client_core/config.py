"""Where the client finds its endpoint and credentials, and the profile file.

Precedence, first match wins:
1. arguments (`Indigo(api_key=..., ...)`, CLI flags, and a profile named with `--profile`);
2. environment: AIIRO_API_KEY/AIIRO_API_SECRET, IndigoApiKey/IndigoApiPrivateKey (the seed
   walkthrough's names), WEBARENA_INDIGO_CLIENT_ID/WEBARENA_INDIGO_CLIENT_SECRET (other Indigo
   tools'); endpoint AIIRO_ENDPOINT, then WEBARENA_INDIGO_ENDPOINT;
3. a profile from the profile file: the one named by AIIRO_CLIENT_PROFILE, else the file's
   default; (AIIRO_PROFILE is the server's timing profile, hence the longer name)
4. the seed's ~/.webarena_secret (`export IndigoApiKey=...` lines, and the AIIRO_ENDPOINT
   line `aiiro serve --write-secret` adds).
A key and its secret always come from the same place, and the endpoint comes with them:
an explicit endpoint argument, else the endpoint of the place the credentials came from,
else the first place above that names one, else the real service, https://api.customer.jp.
`Settings` says where each came from, for error messages.

Where these are read (variables, config dir, cache dir, home) is a `Places`; without one,
`resolve` reads the process's own.
"""

# (No `from __future__ import annotations`: NamedTuple would make each of its string
# annotations a ForwardRef, compiling it, which costs every CLI run milliseconds.)

import os
import sys
from collections.abc import Mapping
from typing import Any, NamedTuple, Self

from aiiro.client_core.errors import ConfigError

DEFAULT_ENDPOINT = "https://api.customer.jp"
DEFAULT_SOURCE = "default"  # Settings.endpoint_source when nothing named an endpoint
PROFILE_FILE = "config.toml"
SECRET_FILE = ".webarena_secret"

# (key variable, secret variable), in precedence order.
ENV_CREDENTIALS = [
    ("AIIRO_API_KEY", "AIIRO_API_SECRET"),
    ("IndigoApiKey", "IndigoApiPrivateKey"),
    ("WEBARENA_INDIGO_CLIENT_ID", "WEBARENA_INDIGO_CLIENT_SECRET"),
]
ENV_ENDPOINTS = ["AIIRO_ENDPOINT", "WEBARENA_INDIGO_ENDPOINT"]
ENV_PROFILE = "AIIRO_CLIENT_PROFILE"
# Keys a profile may hold.
PROFILE_KEYS = ("endpoint", "api_key", "api_secret", "admin_token", "ssh_user")


def _user_dir(kind: str, environ: Mapping[str, str]) -> str:
    """platformdirs' user config/cache dir for "aiiro", without importing it on Linux."""
    platform: str = sys.platform  # (a variable, so that type checkers see both branches)
    if platform.startswith("linux"):
        var, fallback = {
            "config": ("XDG_CONFIG_HOME", ".config"),
            "cache": ("XDG_CACHE_HOME", ".cache"),
        }[kind]
        base = environ.get(var) or os.path.join(
            environ.get("HOME") or os.path.expanduser("~"), fallback
        )
        return os.path.join(base, "aiiro")
    import platformdirs

    if kind == "config":
        return str(platformdirs.user_config_path("aiiro"))
    return str(platformdirs.user_cache_path("aiiro"))


def config_dir(environ: Mapping[str, str]) -> str:
    return environ.get("AIIRO_CONFIG_DIR") or _user_dir("config", environ)


def cache_dir(environ: Mapping[str, str]) -> str:
    return environ.get("AIIRO_CACHE_DIR") or _user_dir("cache", environ)


def home_dir(environ: Mapping[str, str]) -> str:
    return environ.get("HOME") or os.path.expanduser("~")


def profile_path(config: str) -> str:
    return os.path.join(config, PROFILE_FILE)


def secret_path(environ: Mapping[str, str], home: str) -> str:
    return environ.get("AIIRO_SECRET_FILE") or os.path.join(home, SECRET_FILE)


class Places(NamedTuple):
    """The environment the client reads: variables, config dir, cache dir, home. Tests and
    embedders pass their own; `from_environ` gives the process's."""

    environ: Mapping[str, str]
    config_dir: str
    cache_dir: str
    home: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = os.environ if environ is None else environ
        return cls(env, config_dir(env), cache_dir(env), home_dir(env))

    @property
    def profile_file(self) -> str:
        return profile_path(self.config_dir)

    @property
    def secret_file(self) -> str:
        return secret_path(self.environ, self.home)


class Settings:
    """What the client talks to, with what credentials, and where each came from."""

    __slots__ = (
        "admin_token",
        "api_key",
        "api_secret",
        "endpoint",
        "endpoint_source",
        "profile",
        "source",
        "ssh_user",
    )

    def __init__(
        self,
        endpoint: str,
        api_key: str | None,
        api_secret: str | None,
        profile: str | None = None,
        source: str = "none",
        admin_token: str | None = None,
        ssh_user: str | None = None,
        endpoint_source: str = DEFAULT_SOURCE,
    ) -> None:
        self.endpoint = endpoint
        self.endpoint_source = endpoint_source  # where the endpoint came from
        self.api_key = api_key
        self.api_secret = api_secret
        self.profile = profile
        self.source = source  # where the credentials came from, for messages
        self.admin_token = admin_token  # an aiiro server's admin token (boot probe)
        self.ssh_user = ssh_user

    def __repr__(self) -> str:  # (no secrets)
        return f"Settings({self.endpoint!r}, profile={self.profile!r}, source={self.source!r})"

    @property
    def defaulted(self) -> bool:
        """Whether nothing named an endpoint (so it is the real service)."""
        return self.endpoint_source == DEFAULT_SOURCE

    def where(self) -> str:
        """The endpoint and where it came from: `http://127.0.0.1:8080 (from profile 'local')`."""
        if self.defaulted:
            return f"{self.endpoint} (the default: the real Indigo service)"
        return f"{self.endpoint} (from {self.endpoint_source})"

    def require_credentials(self) -> tuple[str, str]:
        if not self.api_key or not self.api_secret:
            raise ConfigError(
                "no API key and secret found",
                hint="run `aiiro configure`, or export IndigoApiKey and IndigoApiPrivateKey "
                "(or AIIRO_API_KEY/AIIRO_API_SECRET), or `source ~/.webarena_secret` "
                "(`aiiro serve --write-secret` writes it)",
            )
        return self.api_key, self.api_secret


class ProfileFile:
    """The profile file's contents: the default profile's name and every profile."""

    __slots__ = ("default", "profiles")

    def __init__(
        self, default: str | None = None, profiles: dict[str, dict[str, str]] | None = None
    ) -> None:
        self.default = default
        self.profiles = profiles if profiles is not None else {}


def read_profiles(path: str) -> ProfileFile:
    """The profile file at `path` (a Places' `profile_file`); empty when there is none."""
    if not os.path.exists(path):
        return ProfileFile()
    import tomllib  # (here: most CLI runs have no profile file, and it costs 4 ms to load)

    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    profiles: dict[str, dict[str, str]] = {}
    for name, values in (data.get("profiles") or {}).items():
        if isinstance(values, dict):
            profiles[str(name)] = {k: str(v) for k, v in values.items() if k in PROFILE_KEYS}
    default = data.get("default")
    return ProfileFile(str(default) if default else None, profiles)


def write_profiles(places: Places, pf: ProfileFile) -> str:
    """Write the profile file (mode 0600: it holds secrets)."""
    import tomli_w

    data: dict[str, Any] = {}
    if pf.default:
        data["default"] = pf.default
    data["profiles"] = pf.profiles
    os.makedirs(places.config_dir, mode=0o700, exist_ok=True)
    path = places.profile_file
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        tomli_w.dump(data, f)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def read_secret_file(path: str) -> dict[str, str]:
    """Variables of a `export NAME=value` file (the seed's ~/.webarena_secret)."""
    values: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return values
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("export "):
            text = text[len("export ") :].strip()
        name, sep, value = text.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values


def _pair(values: Mapping[str, str], where: str) -> tuple[str, str, str] | None:
    """(key, secret, where) from the first variable pair set in `values`: the environment
    ("IndigoApiKey in the environment") or a file (its path)."""
    for key_var, secret_var in ENV_CREDENTIALS:
        key = values.get(key_var)
        if key:
            secret = values.get(secret_var)
            if not secret:
                raise ConfigError(
                    f"{key_var} is set in {where} but {secret_var} is not",
                    hint="set both, or neither (a key and its secret come from one place)",
                )
            return key, secret, _label(key_var, where)
    return None


def _label(var: str, where: str) -> str:
    return f"{var} in the environment" if where == "the environment" else where


def _endpoint(values: Mapping[str, str], where: str) -> tuple[str, str] | None:
    """(endpoint, where) from the first endpoint variable set in `values`."""
    for var in ENV_ENDPOINTS:
        if values.get(var):
            return values[var], _label(var, where)
    return None


def resolve(
    *,
    api_key: str | None = None,
    api_secret: str | None = None,
    endpoint: str | None = None,
    profile: str | None = None,
    admin_token: str | None = None,
    places: Places | None = None,
) -> Settings:
    """The endpoint and credentials to use, by the precedence in this module's doc."""
    places = places or Places.from_environ()
    env, profile_file, secret_file = places.environ, places.profile_file, places.secret_file

    pf = read_profiles(profile_file)
    named = profile or env.get(ENV_PROFILE)
    if named and named not in pf.profiles:
        raise ConfigError(
            f"no profile {named!r} in {profile_file}",
            hint="`aiiro configure --profile NAME` creates it; `aiiro profile list` shows them",
        )
    profile_name = named or (pf.default if pf.default in pf.profiles else None)
    if profile_name is None and "default" in pf.profiles:
        profile_name = "default"
    prof = pf.profiles.get(profile_name or "", {})
    prof_where = f"profile {profile_name!r}"
    prof_place = (
        (prof["api_key"], prof["api_secret"], prof_where)
        if prof.get("api_key") and prof.get("api_secret")
        else None,
        (prof["endpoint"], prof_where) if prof.get("endpoint") else None,
    )
    secrets = read_secret_file(secret_file)

    # The places in precedence order: (credentials, endpoint) each with where they are.
    # A profile named on the command line counts as arguments.
    places_in_order: list[tuple[tuple[str, str, str] | None, tuple[str, str] | None]] = []
    if profile:
        places_in_order.append(prof_place)
    places_in_order.append((_pair(env, "the environment"), _endpoint(env, "the environment")))
    if not profile:
        places_in_order.append(prof_place)
    places_in_order.append((_pair(secrets, secret_file), _endpoint(secrets, secret_file)))

    found = next(((c, e) for c, e in places_in_order if c is not None), None)
    if bool(api_key) != bool(api_secret):
        given, missing = ("key", "secret") if api_key else ("secret", "key")
        in_force = f" (the credentials in force come from {found[0][2]})" if found else ""
        raise ConfigError(
            f"an API {given} was given without its {missing}",
            hint=f"give the API {missing} too (--api-{missing}){in_force}: a key and its "
            "secret always come from one place",
        )
    key: str | None = None
    secret: str | None = None
    source = "none"
    place_endpoint: tuple[str, str] | None = None
    if api_key and api_secret:
        key, secret, source = api_key, api_secret, "arguments"
    elif found is not None:
        (key, secret, source), place_endpoint = found

    # The endpoint comes with the credentials (module doc).
    chosen = (endpoint, "arguments") if endpoint else place_endpoint
    if chosen is None:
        chosen = next((e for _, e in places_in_order if e is not None), None)
    url, url_source = chosen or (DEFAULT_ENDPOINT, DEFAULT_SOURCE)
    return Settings(
        endpoint=url.rstrip("/"),
        api_key=key,
        api_secret=secret,
        profile=profile_name,
        source=source,
        admin_token=admin_token or env.get("AIIRO_ADMIN_TOKEN") or prof.get("admin_token"),
        ssh_user=prof.get("ssh_user"),
        endpoint_source=url_source,
    )
