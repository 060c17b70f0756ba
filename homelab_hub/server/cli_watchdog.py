"""``homelab-hub watchdog``: run the watchdog outside the hub, e.g. ``--once`` from cron or a
systemd timer. Exit status 0: all nominal or fixed; 3: something needs a human."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import Any

from homelab_hub.config import load_config

NEEDS_HUMAN_EXIT = 3


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "watchdog",
        help="check the watched services and heal them (--once for cron); exits 3 when a human is needed",
        description="Check every [watchdog.services.NAME], escalate restart -> Claude Code -> human, "
        "and print the report. Uses the hub's database, so state is shared with a running hub.",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="config file (default: $HOMELAB_HUB_CONFIG, else ./homelab-hub.toml if present)",
    )
    parser.add_argument(
        "--once", action="store_true", help="run one check and exit (default: loop every interval_s)"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
    parser.set_defaults(func=cmd_watchdog)


def cmd_watchdog(args: argparse.Namespace) -> int:
    from homelab_hub.notify.apprise import AppriseNotifier
    from homelab_hub.store import Database, migrate
    from homelab_hub.watchdog.engine import Watchdog

    config = load_config(getattr(args, "config", None))
    db = Database.from_url(config.storage.url)
    try:
        migrate(db)
        watchdog = Watchdog(config.watchdog, db, notifier=AppriseNotifier(config.notify.apprise_urls))
        stop = threading.Event()
        while True:
            report = watchdog.check_once(wait=stop.wait)
            _print(report, as_json=args.json)
            if args.once or stop.wait(config.watchdog.interval_s):
                break
        watchdog.close()
        return NEEDS_HUMAN_EXIT if report.needs_human else 0
    finally:
        db.close()


def _print(report: Any, *, as_json: bool) -> None:
    if as_json:
        data = {
            "overall": report.overall,
            "needs_human": report.needs_human,
            "services": {
                name: {
                    "report": o.report,
                    "detail": o.detail,
                    "incident_id": o.incident_id,
                    "attempts": o.attempts,
                    "findings": [f.message for f in o.findings],
                }
                for name, o in report.outcomes.items()
            },
        }
        print(json.dumps(data, ensure_ascii=False))
    else:
        print(report.title())
        print(report.body())
    sys.stdout.flush()
