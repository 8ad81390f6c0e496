"""One Settings object: environment (AIIRO_*), then CLI flags layered on top by `aiiro serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    admin_token: str | None = None
    # Key for hashing API secrets and tokens; read from <data_dir>/secret.key when unset.
    secret_key: str | None = None
    # Deterministic seed for generated values (tokens, keys, addresses). Testing only.
    seed: int | None = None
    # Run the engine worker thread in this process.
    worker: bool = True
    log_level: str = "info"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'aiiro.db'}"

    @property
    def quota_enabled(self) -> bool:
        return self.profile == "faithful" if self.quota is None else self.quota

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"
