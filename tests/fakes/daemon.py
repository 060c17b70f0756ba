"""A small daemon to be watched: it logs a line every ``--interval`` seconds and obeys the
word in its ``--control`` file, re-read every tick:

    normal      log "INFO frame processed" lines (the default)
    spin        stop logging and burn one core forever (the seed's 300 %-CPU deadlock)
    exit        log "exiting" and exit with status 1
    serious     log serious errors ("ERROR database disk image is malformed")
    transient   log only transient errors ("ERROR RTSP error: Connection reset by peer; retry in 5s")
    hang        stop logging and sleep (alive, idle, silent)

Like logging.handlers.WatchedFileHandler it reopens its log when the file was rotated away.
``--exit-after S`` makes it die S seconds after start (a daemon that keeps dying);
``--spin-after S`` makes it stop logging and spin S seconds after every start (the seed's
deadlock, coming back after each restart); ``--say TEXT`` logs TEXT once at start (a secret,
an injection attempt); ``--api-key`` is accepted and ignored (a secret on the command line).

    python tests/fakes/daemon.py --log /tmp/d.log --control /tmp/d.ctl [--pidfile F] [--tag X]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

LINES = {
    "normal": "INFO frame processed camera=gate fps=5",
    "serious": "ERROR database disk image is malformed while saving frame",
    "transient": "ERROR RTSP error: Connection reset by peer; retry in 5s",
}


class Log:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fh = open(path, "a", encoding="utf-8")

    def write(self, text: str) -> None:
        try:
            same = os.stat(self.path).st_ino == os.fstat(self.fh.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            self.fh.close()
            self.fh = open(self.path, "a", encoding="utf-8")
        self.fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} [{os.getpid()}] {text}\n")
        self.fh.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--log", required=True, type=Path)
    parser.add_argument("--control", required=True, type=Path)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--pidfile", type=Path)
    parser.add_argument("--exit-after", type=float)
    parser.add_argument("--spin-after", type=float)
    parser.add_argument("--tag", default="", help="any literal string; logged at start")
    parser.add_argument("--say", default="", help="a line logged once at start")
    parser.add_argument("--api-key", default="", help="ignored: a secret on the command line")
    args = parser.parse_args()
    if args.pidfile:
        args.pidfile.write_text(str(os.getpid()))
    log = Log(args.log)
    log.write(f"INFO daemon started tag={args.tag!r}")
    if args.say:
        log.write(args.say)
    started = time.monotonic()
    while True:
        try:
            mode = args.control.read_text(encoding="utf-8").strip() or "normal"
        except FileNotFoundError:
            mode = "normal"
        if args.exit_after is not None and time.monotonic() - started > args.exit_after:
            log.write("INFO exit-after reached; exiting")
            return 1
        if mode == "exit":
            log.write("INFO exiting on request")
            return 1
        if args.spin_after is not None and time.monotonic() - started > args.spin_after:
            mode = "spin"
        if mode == "spin":
            while True:  # deadlocked and spinning: no more log lines, ever
                pass
        if mode == "hang":
            time.sleep(3600)
        log.write(LINES.get(mode, LINES["normal"]))
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
