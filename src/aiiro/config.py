"""One Settings object: environment (AIIRO_*), then CLI flags layered on top by `aiiro serve`."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from aiiro.inputs import Network, parse_networks

Profile = Literal["fast", "faithful", "instant"]
DriverName = Literal["sim", "libvirt"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AIIRO_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Field(default_factory=lambda: platformdirs.user_data_path("aiiro"))
    # SQLAlchemy URL; empty means SQLite (WAL) at <data_dir>/aiiro.db.
    database_url: str = ""
    driver: DriverName = "sim"
    profile: Profile = "fast"
    # None follows the profile: on for `faithful`, off otherwise (local development
    # should not stall on the real service's 6 requests/minute).
    quota: bool | None = None
    quota_per_minute: int = 6
    # The real service refuses ed25519 (and nothing shows it takes ECDSA): I10034.
    accept_ed25519: bool = False
    # "reject": a public key with a comment is refused (I10034), as reported of the real
    # service in 2026; "keep": accepted and stored as sent.
    sshkey_comments: Literal["reject", "keep"] = "reject"
    # A replacement for the packaged catalogue (src/aiiro/data/catalog.json).
    catalog_file: Path | None = None
    # Bearer token for /_aiiro/* admin calls; generated and printed on first start when unset.
    admin_token: str | None = Field(default=None, min_length=16)
    # Key for hashing API secrets and tokens; read from <data_dir>/secret.key when unset.
    secret_key: str | None = None
    # Deterministic seed for generated values (tokens, keys, addresses). Testing only.
    seed: int | None = None
    # Anyone who reaches the control panel may create an account (email + password).
    # Unset: open on a loopback address only; operators of a server others can reach make
    # accounts with `aiiro admin` unless they open sign-up on purpose.
    panel_signup: bool | None = None
    # Networks (comma separated) besides loopback from which /_aiiro/ may be used (the
    # admin token still needed); /_aiiro/health answers everyone.
    admin_networks: str = ""
    # Print the first account's secret and the admin token on the first start (a terminal);
    # false under a service manager, whose log keeps everything printed: they are then in
    # the credentials file and <data dir>/admin_token only.
    show_secrets: bool = True
    # This process runs lifecycle operations (the embedded default). False (`aiiro serve
    # --no-engine`): it only answers, and `aiiro worker` processes run them.
    engine: bool = True
    # With the engine: run it in a thread of its own; false: each request runs what fell
    # due before answering (tests).
    worker: bool = True
    # Seconds a worker's claim on an operation holds without being renewed (it renews it
    # every third of that while alive): a worker killed mid-operation is taken over by
    # another within this time.
    operation_lease_s: float = Field(default=30.0, ge=1.0)
    # Seconds between the worker's sweeps that make the shown power state follow what the
    # compute driver observes (a guest that powered itself off shows Stopped). None: 10 for
    # drivers with real machines, never for `sim` (its machines are aiiro's own rows); 0: off.
    reconcile_s: float | None = None
    # Runs of an operation whose driver call keeps failing (2, 4, 8... s apart) before the
    # engine gives up: the instance then settles (lifecycle.GIVES_UP_TO) and the failure,
    # with its reason, shows in the panel and under /_aiiro/operations.
    operation_max_attempts: int = Field(default=5, ge=1)
    log_level: str = "info"
    # What one account may hold (per account: PUT /_aiiro/accounts/{id}/limits).
    limit_instances: int = Field(default=100, ge=0)
    limit_sshkeys: int = Field(default=100, ge=0)
    limit_firewalls: int = Field(default=100, ge=0)
    limit_apikeys: int = Field(default=50, ge=0)
    # The largest request body taken, in bytes, on every path (API, panel, admin): the
    # largest Indigo body, a firewall template of many rules, is a few kilobytes.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Seconds a write waits for the store's lock (held by another process, say) before the
    # request is answered 503 "busy".
    lock_wait_s: float = Field(default=5.0, gt=0)
    # Seconds a client may take to send a request's head, or each chunk of its body,
    # before the server drops it (a stalled or slow client holds nothing for long).
    client_timeout_s: float = Field(default=30.0, gt=0)
    # Networks an import URL may lead to although they are not public (comma separated
    # CIDRs, e.g. "10.20.0.0/16" for an image server on the operator's network); everything
    # else that is not a public address is refused (compute/import_url.py).
    import_allow_networks: str = ""
    # Seconds an import download may take in all, redirects included (besides 10 s to
    # connect and 60 s for each read).
    import_timeout_s: float = Field(default=3600.0, gt=0)

    # --- the libvirt driver (docs/operating-a-host.md) ------------------------------------
    # Compute hosts of the region, comma separated; an instance goes to the one with the
    # most free memory among those that answer.
    libvirt_uris: str = "qemu:///system"
    # A host silent this long counts as unreachable: a connection not made by then is given
    # up (an open one is closed by libvirt's keepalive after about 3x this), and the host
    # is tried again after as long (its instances stay listed, marked;
    # docs/operating-a-host.md).
    libvirt_host_timeout_s: float = Field(default=5.0, gt=0)
    # Base images (images/) and instance disks (instances/). Hosts other than the local one
    # must see this directory at the same path (shared storage).
    libvirt_storage_dir: Path = Path("/var/lib/aiiro")
    # The libvirt network of a region; "{region_id}" is replaced by the region's id.
    libvirt_network: str = "aiiro-{region_id}"
    # Names of the domains ("<prefix><id>") and filters ("<prefix>instance-<id>") this
    # installation makes; two installations sharing a host need different prefixes.
    libvirt_name_prefix: str = "aiiro-"
    # "auto": kvm where the host offers usable KVM, otherwise qemu (software emulation).
    libvirt_domain_type: Literal["auto", "kvm", "qemu"] = "auto"
    # Guest memory = plan memory x this factor (at least libvirt_memory_min_mb), for hosts
    # smaller than the plans they serve.
    libvirt_memory_scale: float = 1.0
    libvirt_memory_min_mb: int = 256
    # A first boot that has not finished after this many seconds is cut off (powered off).
    libvirt_install_timeout: float = 600.0

    @property
    def effective_database_url(self) -> str:
        url = self.database_url
        if not url:
            return f"sqlite:///{self.data_dir / 'aiiro.db'}"
        # The plain forms name psycopg2, which aiiro does not install; psycopg 3 it is.
        for plain in ("postgresql://", "postgres://"):
            if url.startswith(plain):
                return "postgresql+psycopg://" + url[len(plain) :]
        return url

    @field_validator("import_allow_networks", "admin_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)  # a typo stops the start, not the first request
        return value

    @property
    def import_allowed_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.import_allow_networks)

    @property
    def loopback_only(self) -> bool:
        """Bound to a loopback address: nobody else can reach the server."""
        return is_loopback(self.host)

    @property
    def signup_open(self) -> bool:
        return self.loopback_only if self.panel_signup is None else self.panel_signup

    @property
    def quota_enabled(self) -> bool:
        return self.profile == "faithful" if self.quota is None else self.quota

    @property
    def base_url(self) -> str:
        """Where a client on this machine reaches the server (a wildcard bind answers on
        loopback too)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server to this machine ("localhost" included)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
