"""Every setting and every tool is documented, and the README's generated parts are current."""

from pathlib import Path

from homelab_hub.config_docs import iter_settings, rendered_readme
from homelab_hub.server.components import all_tools

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_has_a_description():
    missing = [s.path for s in iter_settings() if not s.description.strip()]
    assert not missing, f"settings without a description: {missing}"


def test_every_setting_and_tool_is_in_the_readme():
    text = README.read_text()
    missing = [s.path for s in iter_settings() if f"`{s.path}`" not in text]
    missing += [t.name for t in all_tools() if f"`{t.name}`" not in text]
    assert not missing, f"undocumented: {missing}; run python -m homelab_hub.config_docs"


def test_the_readme_generated_blocks_are_up_to_date():
    text = README.read_text()
    assert rendered_readme(text) == text, "README is stale: run python -m homelab_hub.config_docs"


def test_the_readme_shows_the_two_commands():
    text = README.read_text()
    assert "scripts/serve" in text and "scripts/test" in text


def test_every_tool_description_is_short():
    long = [t.name for t in all_tools() if len(t.description) > 400]
    assert not long, f"tool descriptions over 400 characters: {long}"


def test_every_command_is_in_the_readme_command_table():
    from homelab_hub.server.cli import build_parser

    table = README.read_text().split("## Command line", 1)[1].split("\n\n", 2)[1]
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    missing = [name for name in sub.choices if f"`homelab-hub {name}" not in table]
    assert not missing, f"commands missing from the README's command table: {missing}"


def test_the_readme_shows_the_broker_acl_the_tests_run():
    from homelab_hub.remote.acl import mosquitto_acl

    assert mosquitto_acl() in README.read_text()
