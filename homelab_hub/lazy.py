"""Modules imported on first use, for the heavy ones a configuration may never need.

OpenCV and PyAV cost about 32 MB of RSS and a quarter of a second at import (python -X
importtime, RSS before and after), and only cameras, zones, live views and speech use them:
a hub without cameras must not pay for them. ``cv2 = lazy_module("cv2")`` stands where
``import cv2`` stood; the first attribute read imports the module (under the import lock, so
from any thread) and copies its names in, so later reads cost what a module's do.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _LazyModule(ModuleType):
    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)
        return getattr(module, attr)


def lazy_module(name: str) -> ModuleType:
    """A stand-in for ``import name`` that imports on first use. Only for third-party
    libraries: a module of this package named by a string would hide a dependency from mypy,
    the import walk (scripts/import_graph.py) and an editor, so it is refused (ValueError)."""
    if name.split(".")[0] == "homelab_hub":
        raise ValueError(f"lazy_module is for third-party libraries, not {name}: import it plainly")
    return _LazyModule(name)
