"""Commands about the command line itself: `aiiro version` and `aiiro completion SHELL`."""

from __future__ import annotations

from typing import Annotated

import typer

from aiiro import __version__

SHELLS = ("bash", "zsh", "fish", "powershell")


def version() -> None:
    """Print aiiro's version (as `aiiro --version`)."""
    typer.echo(f"aiiro {__version__}")


def completion(
    shell: Annotated[
        str,
        typer.Argument(
            help="bash, zsh, fish or powershell.",
            autocompletion=lambda: list(SHELLS),
            show_default=False,
        ),
    ],
) -> None:
    """Print the shell completion script: `source <(aiiro completion bash)`, or save it
    where your shell loads completions (`aiiro --install-completion` does that for you)."""
    # typer's own script, the one `--show-completion` prints (typer.completion does not
    # list it as public, hence the ignore).
    from typer.completion import get_completion_script  # type: ignore[attr-defined]

    if shell not in SHELLS:
        raise typer.BadParameter(f"{shell!r}: choose {', '.join(SHELLS)}", param_hint="SHELL")
    script = get_completion_script(prog_name="aiiro", complete_var="_AIIRO_COMPLETE", shell=shell)
    typer.echo(script)
