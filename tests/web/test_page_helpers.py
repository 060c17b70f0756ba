"""The page scripts' pure helpers (frame decoding, polygon geometry), tested under node.

The tests are tests/web/js/*.test.mjs (node:test); they import the very files the hub serves
from homelab_hub/server/web/static. Those are ES modules without a package.json beside them:
node 20 reads them as such with --experimental-default-type=module, newer node detects it.
"""

import glob
import os
import shutil
import subprocess

from tests.support import REPO_ROOT, require

NODE = shutil.which("node")
TESTS = sorted(glob.glob(os.path.join(REPO_ROOT, "tests", "web", "js", "*.test.mjs")))


def _module_flags(node: str) -> list[str]:
    flag = "--experimental-default-type=module"
    probe = subprocess.run([node, flag, "-e", "0"], capture_output=True, timeout=60)
    return [flag] if probe.returncode == 0 else []


def test_the_page_scripts_pure_helpers_pass_their_node_tests() -> None:
    require(NODE is not None, "node is not installed")
    assert NODE is not None and TESTS
    result = subprocess.run(
        [NODE, *_module_flags(NODE), "--test", *TESTS],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
