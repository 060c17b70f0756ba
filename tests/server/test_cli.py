"""The homelab-hub command, run as a real process."""

import os
import subprocess
import sys
import tomllib

import pytest

from homelab_hub.config import load_config
from homelab_hub.server.cli import build_parser
from tests.fakes.ollama_vision import FakeOllamaVision


def run(tmp_path, *args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "homelab_hub.server.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "HOMELAB_HUB_CONFIG": "", **(env or {})},
    )


def test_token_create_prints_the_token_alone_on_the_last_line(tmp_path):
    out = run(tmp_path, "token", "create", "claude")
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip().splitlines()[-1]
    assert token.startswith("hh_")
    assert " " not in token
    listed = run(tmp_path, "token", "list")
    assert "claude" in listed.stdout
    assert token not in listed.stdout
    assert run(tmp_path, "token", "revoke", "claude").returncode == 0
    assert "revoked" in run(tmp_path, "token", "list").stdout
    assert run(tmp_path, "token", "revoke", "nobody").returncode == 1


def test_a_second_live_token_for_the_same_agent_is_refused(tmp_path):
    assert run(tmp_path, "token", "create", "claude").returncode == 0
    again = run(tmp_path, "token", "create", "claude")
    assert again.returncode == 1
    assert "already has a live token" in again.stderr


def test_init_writes_a_config_that_loads_and_lists_every_section(tmp_path):
    assert run(tmp_path, "init").returncode == 0
    text = (tmp_path / "homelab-hub.toml").read_text()
    data = tomllib.loads(text)
    assert {"server", "storage", "memory", "watchdog"} <= set(data)
    load_config(tmp_path / "homelab-hub.toml")
    assert run(tmp_path, "init").returncode == 1  # never overwrites without --force


def test_a_bad_config_names_the_key_the_value_and_what_was_expected(tmp_path):
    (tmp_path / "bad.toml").write_text('[server]\nport = "eighty"\nhots = "x"\n')
    out = run(tmp_path, "--config", "bad.toml", "doctor")
    assert out.returncode == 1
    assert (
        "  server.port: got 'eighty'; expected Input should be a valid integer, unable to parse string as an integer"
        in out.stdout
    )
    assert (
        "  server.hots: unknown setting (value 'x'); check the spelling against `homelab-hub init`"
        in out.stdout
    )


def test_doctor_reports_a_healthy_default_setup(tmp_path):
    out = run(tmp_path, "doctor")
    assert out.returncode == 0, out.stdout
    assert "database" in out.stdout


def test_doctor_says_how_to_fix_an_unreachable_database(tmp_path):
    out = run(tmp_path, "doctor", env={"HOMELAB_HUB_STORAGE__URL": "mysql+pymysql://root:@127.0.0.1:1/nope"})
    assert out.returncode == 1
    assert "fix:" in out.stdout


def test_serve_refuses_to_bind_beyond_loopback_without_tokens(tmp_path):
    out = run(tmp_path, "serve", "--host", "0.0.0.0", "--port", "1")
    assert out.returncode == 1
    assert "no API tokens" in out.stderr


def test_claude_setup_prints_both_transports_with_the_bearer_header(tmp_path):
    out = run(tmp_path, "claude-setup")
    assert "claude mcp add --transport http homelab-hub http://127.0.0.1:8042/mcp" in out.stdout
    assert "claude mcp add --transport sse homelab-hub-sse http://127.0.0.1:8042/sse" in out.stdout
    assert "Authorization: Bearer ${HOMELAB_HUB_TOKEN}" in out.stdout


def _commands(parser, prefix=()):
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from _commands(sub, (*prefix, name))


@pytest.mark.parametrize("command", list(_commands(build_parser())), ids=" ".join)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*command, "--help"])
    assert exit_.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_doctor_names_each_unreachable_dependency(tmp_path):
    (tmp_path / "lab.toml").write_text(
        "[inference.ollama.spark]\nurl = 'http://127.0.0.1:9'\n"
        "[watchdog.services.gate]\nmatch = 'gate_monitor'\n"
        "dependencies = [{kind = 'tcp', host = '127.0.0.1', port = 9}]\n"
    )
    out = run(tmp_path, "--config", "lab.toml", "doctor")
    assert out.returncode == 1
    assert "ollama host spark: 127.0.0.1:9 not reachable" in out.stdout
    assert "watchdog gate dependency: 127.0.0.1:9 not reachable" in out.stdout


def _helps(parser, prefix=()):
    """(command, what, help) for every subcommand and argument of the parser tree."""
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield (*prefix, name), name, helps.get(name)
                yield from _helps(sub, (*prefix, name))
        elif action.dest not in ("help", "version"):
            yield prefix, action.dest, action.help


PROPER_NAMES = {"MCP", "Ollama"}  # a help may start with a name; a sentence starts in lower case


def test_every_command_and_argument_has_help_starting_in_lower_case():
    helps = list(_helps(build_parser()))
    missing = [" ".join((*cmd, what)) for cmd, what, text in helps if not text]
    capitalised = [
        " ".join((*cmd, what))
        for cmd, what, text in helps
        if text and text[0].isupper() and text.split()[0] not in PROPER_NAMES
    ]
    assert (missing, capitalised) == ([], [])


def test_memory_help_reads_like_the_other_commands(tmp_path):
    out = run(tmp_path, "--help", env={"COLUMNS": "200"})
    assert "import notes and transcripts into semantic memory, export it as JSONL" in out.stdout
    revoke = run(tmp_path, "token", "revoke", "--help")
    assert "agent name the tokens act as, as shown by `token list`" in revoke.stdout


def test_doctor_says_ollama_pull_for_each_configured_model_the_host_lacks(tmp_path):
    with FakeOllamaVision("qwen2.5vl:7b") as ollama:
        (tmp_path / "lab.toml").write_text(
            f"[vision]\nurl = '{ollama.url}'\n[cameras.gate]\nurl = '{tmp_path / 'gate.mp4'}'\n"
        )
        out = run(tmp_path, "--config", "lab.toml", "doctor")
    assert out.returncode == 1
    assert f"✓ model qwen2.5vl:7b (vision.model): qwen2.5vl:7b installed on {ollama.url}" in out.stdout
    assert (
        f"✗ model qwen3.5:35b (vision.review.model): qwen3.5:35b not installed on {ollama.url} "
        "(installed: qwen2.5vl:7b)\n"
        f"  fix: ollama pull qwen3.5:35b   (on {ollama.url}), or name an installed model"
    ) in out.stdout
