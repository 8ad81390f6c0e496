"""Where the client reads its settings and keeps its token cache."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from aiiro.client import config


@dataclass(frozen=True)
class Places:
    """The environment the client reads: variables, config dir, cache dir, home. Tests and
    embedders pass their own; `from_environ` gives the process's (aiiro.client.config
    says which directories)."""

    environ: Mapping[str, str]
    config_dir: str
    cache_dir: str
    home: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Places:
        env = os.environ if environ is None else environ
        return cls(
            environ=env,
            config_dir=config.config_dir(env),
            cache_dir=config.cache_dir(env),
            home=config.home_dir(env),
        )

    @property
    def profile_file(self) -> str:
        return config.profile_path(self.config_dir)

    @property
    def secret_file(self) -> str:
        return config.secret_path(self.environ, self.home)
