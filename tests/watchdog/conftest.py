"""Watchdog fixtures: real daemon processes, killed after the test. Helpers: support.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.watchdog.support import LAUNCHED, TestDaemon


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[Callable[..., TestDaemon]]:
    made: list[TestDaemon] = []

    def make(name: str = "gate-monitor", *extra: str, start: bool = True) -> TestDaemon:
        d = TestDaemon(name, tmp_path / name, tuple(extra))
        made.append(d)
        if start:
            d.start()
        else:
            d.dir.mkdir(parents=True, exist_ok=True)
            d.set_mode("normal")
        return d

    yield make
    for d in made:  # including the copies the watchdog started
        d.stop()
    for proc in LAUNCHED:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
    LAUNCHED.clear()
