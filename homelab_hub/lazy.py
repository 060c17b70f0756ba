"""Modules imported on first use, for the heavy ones a configuration may never need.

OpenCV and PyAV cost about 32 MB of RSS and a quarter of a second at import (python -X
importtime, RSS before and after), and only cameras, zones, live views and speech use them:
a hub without cameras must not pay for them. ``cv2 = lazy_module("cv2")`` stands where
``import cv2`` stood.

The module is the standard library's lazy import (``importlib.util.LazyLoader``, the recipe in
the importlib documentation): found now, registered in ``sys.modules``, executed at the first
attribute read. What we hand out is a stand-in that makes that first read under one lock and
then copies the module's names in, so later reads cost what a module's do: Python 3.11's
LazyLoader is not thread-safe (a second thread reading while the first still executes the
module gets an AttributeError; CPython gh-114763, fixed in 3.12.3), and camera workers start
together.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any

_FIRST_READ = threading.Lock()
_REGISTER = threading.Lock()


class _LazyModule(ModuleType):
    def __init__(self, name: str, module: ModuleType) -> None:
        super().__init__(name)
        self.__dict__["__lazy_target__"] = module  # reading any of its names would load it

    def __getattr__(self, attr: str) -> Any:
        module = self.__dict__["__lazy_target__"]
        with _FIRST_READ:
            value = getattr(module, attr)  # the first read executes the module
            self.__dict__.update(module.__dict__)
        return value


class _MissingModule(ModuleType):
    def __getattr__(self, attr: str) -> Any:
        # What `import name` would have said, at the first use: a hub that never uses it runs.
        raise ModuleNotFoundError(f"No module named {self.__name__!r}", name=self.__name__)


def lazy_module(name: str) -> ModuleType:
    """A stand-in for ``import name`` that imports on first use (ModuleNotFoundError then, when
    it is not installed). Only for third-party libraries: a module of this package named by a
    string would hide a dependency from mypy, the import walk (scripts/import_graph.py) and an
    editor, so it is refused (ValueError)."""
    if name.split(".")[0] == "homelab_hub":
        raise ValueError(f"lazy_module is for third-party libraries, not {name}: import it plainly")
    with _REGISTER:  # one module object per name, whichever thread asks first
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.find_spec(name)
            if spec is None or spec.loader is None:
                return _MissingModule(name)
            loader = importlib.util.LazyLoader(spec.loader)
            spec.loader = loader
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            loader.exec_module(module)
    return _LazyModule(name, module)
