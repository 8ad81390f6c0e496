"""Entry point of `aiiro`. The list commands (`aiiro instance list -o json` ...) are
answered by their dispatcher (cli/client/fast.py) without loading typer; everything else
runs the typer application (cli/app.py), whose sub-commands import what they need when
they run, so that `aiiro --help` and the client commands start quickly."""

from __future__ import annotations

import sys

from aiiro import __version__
from aiiro.cli.client.fast import run_fast


def main() -> None:
    argv = sys.argv[1:]
    if argv in (["--version"], ["version"]):
        sys.stdout.write(f"aiiro {__version__}\n")
        sys.exit(0)
    code = run_fast(argv)
    if code is not None:
        sys.exit(code)
    from aiiro.cli.app import app  # (here: the list commands never need typer)

    app()
