"""The ``stekker`` command.  Each stage registers its own commands from its
own module, so the CLI mirrors the data path:
``scan`` (collect) -> ``attribute`` -> ``report`` (judge + report), plus
``audit`` for an organisation's own inventory, ``data`` for reference data,
``validate`` for the check against peer classifiers, and ``lab`` for the
loopback DNS lab used by tests and benchmarks.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="stekker",
    help=(
        "Who can pull the plug on this organisation? Measure dependence on "
        "non-European cloud and software providers from public DNS.\n\n"
        "Example: stekker scan domains.csv && stekker report --scan 1"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from stekker.cli import attribute as _attribute  # noqa: F401
    from stekker.cli import audit as _audit  # noqa: F401
    from stekker.cli import data as _data  # noqa: F401
    from stekker.cli import lab as _lab  # noqa: F401
    from stekker.cli import report as _report  # noqa: F401
    from stekker.cli import scan as _scan  # noqa: F401
    from stekker.cli import show as _show  # noqa: F401
    from stekker.cli import validate as _validate  # noqa: F401


@app.command()
def version() -> None:
    """Print the stekker version."""
    from stekker import __version__

    typer.echo(__version__)


def main() -> None:
    _register()
    app()
