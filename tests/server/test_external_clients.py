"""The official MCP Inspector CLI and the Claude Code CLI, against the hub with a token."""

import os
import subprocess

import pytest

from tests.support import node_bin, require


@pytest.fixture
def secured(hub):
    return hub, hub.create_token("claude")


@pytest.mark.parametrize("transport,path", [("http", "/mcp"), ("sse", "/sse")])
def test_mcp_inspector_cli_lists_the_tools(secured, transport, path):
    inspector = node_bin("mcp-inspector")
    require(
        inspector is not None,
        "MCP Inspector CLI not installed (npm @modelcontextprotocol/inspector; scripts/test installs it)",
    )
    hub, token = secured
    out = subprocess.run(
        [
            inspector,
            "--cli",
            hub.url + path,
            "--transport",
            transport,
            "--header",
            f"Authorization: Bearer {token}",
            "--method",
            "tools/list",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert '"hub_status"' in out.stdout


def test_mcp_inspector_cli_without_a_token_fails(secured):
    inspector = node_bin("mcp-inspector")
    require(inspector is not None, "MCP Inspector CLI not installed")
    hub, _ = secured
    out = subprocess.run(
        [inspector, "--cli", hub.url + "/mcp", "--transport", "http", "--method", "tools/list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    # The Inspector read the 401 and its WWW-Authenticate as "this server wants a login".
    assert '"code":"auth_required"' in out.stderr


def test_claude_code_reports_the_hub_connected_over_both_transports(secured, tmp_path):
    claude = node_bin("claude")
    require(
        claude is not None,
        "Claude Code CLI not installed (npm @anthropic-ai/claude-code; scripts/test installs it)",
    )
    hub, token = secured
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    header = f"Authorization: Bearer {token}"
    for transport, name, path in (("http", "hub-http", "/mcp"), ("sse", "hub-sse", "/sse")):
        added = subprocess.run(
            [claude, "mcp", "add", "--transport", transport, name, hub.url + path, "--header", header],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env=env,
        )
        assert added.returncode == 0, added.stderr
    listed = subprocess.run(
        [claude, "mcp", "list"], capture_output=True, text=True, timeout=180, cwd=tmp_path, env=env
    )
    lines = {line.split(":")[0]: line for line in listed.stdout.splitlines() if line.startswith("hub-")}
    assert "Connected" in lines["hub-http"], listed.stdout
    assert "Connected" in lines["hub-sse"], listed.stdout


def test_mcp_inspector_strict_finds_no_portability_problem_in_any_tool_schema(secured):
    inspector = node_bin("mcp-inspector")
    require(inspector is not None, "MCP Inspector CLI not installed")
    hub, token = secured
    out = subprocess.run(
        [
            inspector,
            "--cli",
            hub.url + "/mcp",
            "--transport",
            "http",
            "--header",
            f"Authorization: Bearer {token}",
            "--method",
            "tools/list",
            "--strict",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert '"hub_status"' in out.stdout
    assert out.stderr.strip() == ""
