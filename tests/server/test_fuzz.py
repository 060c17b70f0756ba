"""schemathesis fuzzes every REST operation from /api/openapi.json: no 5xx, ever."""

import subprocess
import sys


def test_schemathesis_finds_no_server_errors(hub, tmp_path):
    token = hub.create_token("fuzzer", admin=True)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{hub.url}/api/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "25",
            "--phases",
            "examples,coverage,fuzzing",
            "--generation-deterministic",
            "--header",
            f"Authorization: Bearer {token}",
            "--request-timeout",
            "60",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
