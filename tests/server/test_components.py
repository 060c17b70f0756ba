"""A component is one typed entry: adding one brings its tools, migrations, health and CLI
to every surface with no other change."""

from __future__ import annotations

import argparse

from pydantic import Field

from homelab_hub.health import ComponentHealth
from homelab_hub.server.components import COMPONENTS, Component, all_migrations, all_tools
from homelab_hub.store.migrations import Migration
from homelab_hub.tools.registry import ToolContext, ToolInput, ToolOutput, ToolSpec
from tests.hubclient import InProcessHub, hub_config
from tests.support import free_port


class EchoInput(ToolInput):
    text: str = Field(..., max_length=100, description="What to echo.")


class EchoOutput(ToolOutput):
    echoed: str = Field(..., description="The same text.")


def _echo(ctx: ToolContext, args: EchoInput) -> EchoOutput:
    return EchoOutput(echoed=args.text)


TOY = Component(
    name="toy",
    migrations=[
        Migration(
            component="toy",
            version=1,
            description="a toy table",
            sqlite=("CREATE TABLE IF NOT EXISTS toy_things (id INTEGER PRIMARY KEY)",),
            mysql=("CREATE TABLE IF NOT EXISTS toy_things (id BIGINT PRIMARY KEY)",),
        )
    ],
    tools=[
        ToolSpec(
            name="toy_echo",
            description="Echo a text.",
            input_model=EchoInput,
            output_model=EchoOutput,
            handler=_echo,
            read_only=True,
        )
    ],
    register_cli=lambda sub: sub.add_parser("toy", help="a toy command"),
    health=lambda services: ComponentHealth(state="ok", detail="toy is fine"),
)


def test_every_component_entry_is_listed_once():
    names = [c.name for c in COMPONENTS]
    assert len(names) == len(set(names))
    assert {m.component for m in all_migrations()} <= {"core", *names}


def test_a_new_component_needs_only_its_entry(tmp_path):
    components = (*COMPONENTS, TOY)
    hub = InProcessHub(
        hub_config(tmp_path, free_port(), {"memory": {"enabled": False}}), components=components
    )
    try:
        assert hub.rest("toy_echo", {"text": "hello"}).json() == {"echoed": "hello"}
        listed = {t["name"] for t in hub.get("/api/tools").json()}
        assert "toy_echo" in listed
        assert hub.get("/api/health").json()["components"]["toy"]["detail"] == "toy is fine"
        assert hub.services.db.query("SELECT id FROM toy_things") == []
    finally:
        hub.stop()
    assert "toy_echo" in {t.name for t in all_tools(components)}
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    TOY.register_cli(sub)  # type: ignore[misc]
    assert parser.parse_args(["toy"]) is not None
