"""``homelab-hub watchdog``: run the watchdog outside the hub, e.g. ``--once`` from cron or a
systemd timer. Exit status 0: all nominal or fixed; 3: something needs a human; 75
(EX_TEMPFAIL): another watchdog (the hub's) holds the lock, so nothing was checked."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import TYPE_CHECKING, Any

from homelab_hub.config import load_config
from homelab_hub.server.cli_options import config_option
from homelab_hub.watchdog.records import redact_tree

if TYPE_CHECKING:
    from homelab_hub.watchdog.report import CheckReport

NEEDS_HUMAN_EXIT = 3
LOCKED_EXIT = 75  # sysexits' EX_TEMPFAIL: cron wrappers and systemd read it as "try later"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "watchdog",
        help="check the watched services and heal them (--once for cron); exits 3 when a human is needed",
        description="Check every [watchdog.services.NAME], escalate restart -> Claude Code -> human, "
        "and print the report. Uses the hub's database, so state is shared with a running hub; "
        "only one of them acts at a time (exit 75 when the hub holds the lock).",
    )
    config_option(parser)
    parser.add_argument(
        "--once", action="store_true", help="run one check and exit (default: loop every interval_s)"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
    parser.set_defaults(func=cmd_watchdog)


def cmd_watchdog(args: argparse.Namespace) -> int:
    from homelab_hub.notify.apprise import AppriseNotifier
    from homelab_hub.store import Database, core_schema, migrate
    from homelab_hub.watchdog import schema as watchdog_schema
    from homelab_hub.watchdog.engine import Watchdog
    from homelab_hub.watchdog.lock import WatchdogLocked

    config = load_config(getattr(args, "config", None))
    db = Database.from_url(config.storage.url)
    role = "homelab-hub watchdog --once" if args.once else "homelab-hub watchdog"
    try:
        # The hub's own tables and the watchdog's: a watchdog alone creates no other engine's.
        migrate(db, [*core_schema.MIGRATIONS, *watchdog_schema.MIGRATIONS])
        watchdog = Watchdog(
            config.watchdog, db, notifier=AppriseNotifier(config.notify.apprise_urls), role=role
        )
        stop = threading.Event()
        report: CheckReport | None = None
        told = False
        try:
            while True:
                try:
                    report = watchdog.check_once(wait=stop.wait)
                    _print(report, as_json=args.json)
                except WatchdogLocked as exc:
                    if args.once:
                        print(f"homelab-hub: {exc.message}", file=sys.stderr)
                        return LOCKED_EXIT
                    if not told:
                        print(f"homelab-hub: standing by: {exc.message}", file=sys.stderr)
                    told = True
                if args.once or stop.wait(config.watchdog.interval_s):
                    break
        finally:
            watchdog.close()
        return NEEDS_HUMAN_EXIT if report is not None and report.needs_human else 0
    finally:
        db.close()


def _print(report: CheckReport, *, as_json: bool) -> None:
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
        # Findings quote log lines: redacted like everything else that leaves the process.
        print(json.dumps(redact_tree(data), ensure_ascii=False))
    else:
        print(report.title())
        print(report.body())
    sys.stdout.flush()
