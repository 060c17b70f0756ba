"""Options every CLI command shares, defined once for cli.py and the component CLIs."""

from __future__ import annotations

import argparse


def config_option(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """``--config FILE``. Below the top level the default is SUPPRESS, so a global
    ``homelab-hub --config FILE memory …`` is not reset to None by the subcommand."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=None if top else argparse.SUPPRESS,
        help="config file (default: $HOMELAB_HUB_CONFIG, else ./homelab-hub.toml if present, else built-in defaults)",
    )
