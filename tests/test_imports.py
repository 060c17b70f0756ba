"""The package's imports point one way: no circle (type-only and function-level imports count),
and the store imports nothing above it. The walk is scripts/import_graph.py's."""

from __future__ import annotations

import runpy
from pathlib import Path

_WALK = runpy.run_path(str(Path(__file__).resolve().parent.parent / "scripts" / "import_graph.py"))
_GRAPH = _WALK["edges"]()
# Leaves every layer may import (ARCHITECTURE.md); each imports nothing of the package itself.
_LEAVES = {"homelab_hub.errors", "homelab_hub.redact", "homelab_hub.workers"}


def test_the_package_imports_itself_in_no_circle() -> None:
    circles = [" -> ".join(_WALK["one_circle"](_GRAPH, group)) for group in _WALK["cycles"](_GRAPH)]
    assert circles == []


def test_the_store_imports_nothing_above_it() -> None:
    upward = {
        f"{module} imports {target}"
        for module, targets in _GRAPH.items()
        if module.startswith("homelab_hub.store")
        for target in targets
        if not target.startswith("homelab_hub.store") and target not in _LEAVES
    }
    assert upward == set()


def test_the_services_object_imports_no_component_tool_or_server_module() -> None:
    assert {
        t for t in _GRAPH["homelab_hub.services"] if t.startswith(("homelab_hub.server", "homelab_hub.tools"))
    } == set()


def test_the_leaves_import_nothing_of_the_package_but_other_leaves() -> None:
    above = {leaf: sorted(set(_GRAPH.get(leaf, ())) - _LEAVES) for leaf in _LEAVES}
    assert above == {leaf: [] for leaf in _LEAVES}
