"""ZoneEditor, the engine behind zone_edit and the zone page: edits by camera, copies between
cameras, and a point limit checked before any geometry."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from homelab_hub.cameras.settings import CameraConfig
from homelab_hub.cameras.zones import polygon
from homelab_hub.cameras.zones.editor import ZoneEditor
from homelab_hub.cameras.zones.store import ZoneStore
from homelab_hub.config import load_config
from homelab_hub.errors import ConfigError, Conflict, InvalidInput, NotFound
from homelab_hub.store import Database

SQUARE = [[0.1, 0.1], [0.4, 0.1], [0.4, 0.4], [0.1, 0.4]]


def circle(n: int) -> list[list[float]]:
    return [
        [0.5 + 0.4 * math.cos(2 * math.pi * i / n), 0.5 + 0.4 * math.sin(2 * math.pi * i / n)]
        for i in range(n)
    ]


@pytest.fixture
def editor(sqlite_db: Database) -> Iterator[ZoneEditor]:
    cameras = {
        "gate": CameraConfig(
            url="gate.mp4", zones=[{"name": "post", "points": [[0.9, 0.9], [1, 0.9], [1, 1]]}]
        ),
        "drive": CameraConfig(url="drive.mp4"),
    }
    yield ZoneEditor(ZoneStore(sqlite_db), manager=None, cameras=cameras)


@pytest.fixture
def no_geometry(monkeypatch) -> None:
    def refuse(points):
        raise AssertionError("the crossing check ran on a zone that is over the point limit")

    monkeypatch.setattr(polygon, "_first_crossing", refuse)


def test_without_a_running_manager_edits_are_stored_but_not_applied(editor: ZoneEditor) -> None:
    listed = editor.list("gate")
    assert listed.source == "config"
    assert listed.applied is False
    added = editor.add("gate", "road", SQUARE)
    assert [z.name for z in added.zones] == ["post", "road"]
    assert added.zones[1].kind == "exclude"
    assert added.source == "database"
    assert editor.list("gate").zones == added.zones


def test_copy_brings_all_or_named_zones_to_another_camera(editor: ZoneEditor) -> None:
    editor.add("gate", "road", SQUARE, "include")
    one = editor.copy("gate", "drive", ["road"])
    assert [(z.name, z.kind) for z in one.zones] == [("road", "include")]
    with pytest.raises(
        Conflict, match="camera 'drive' already has zones named 'road'; rename or remove them first"
    ):
        editor.copy("gate", "drive")
    editor.remove("drive", "road")
    both = editor.copy("gate", "drive")
    assert [z.name for z in both.zones] == ["post", "road"]
    with pytest.raises(NotFound, match="zone 'lawn' on camera 'gate' does not exist"):
        editor.copy("gate", "drive", ["lawn"])
    with pytest.raises(NotFound, match="unknown camera 'garage'; known cameras: 'drive', 'gate'"):
        editor.copy("gate", "garage")


def test_a_4000_point_zone_is_refused_with_the_limit_before_any_geometry(
    editor: ZoneEditor, no_geometry
) -> None:
    with pytest.raises(InvalidInput) as err:
        editor.add("gate", "huge", circle(4000))
    assert (
        err.value.message == "zone 'huge' on camera 'gate': polygon has 4000 points; at most 200 are allowed"
    )
    with pytest.raises(InvalidInput, match="at most 200 are allowed"):
        editor.update("gate", "post", points=circle(201))
    assert [z.name for z in editor.list("gate").zones] == ["post"]


def test_a_config_zone_over_the_point_limit_is_refused_at_load(no_geometry) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(
            None, cameras={"gate": {"url": "gate.mp4", "zones": [{"name": "huge", "points": circle(4000)}]}}
        )
    assert "cameras.gate.zones.0.points" in err.value.message
    assert "at most 200 items" in err.value.message


def test_a_200_point_zone_is_checked_and_a_crossing_one_named_by_its_edges(editor: ZoneEditor) -> None:
    assert len(editor.add("gate", "round", circle(200)).zones[-1].points) == 200
    bowtie = circle(200)
    bowtie[10], bowtie[100] = bowtie[100], bowtie[10]
    with pytest.raises(
        InvalidInput, match=r"zone 'bow' on camera 'gate': polygon crosses itself \(edge \d+-\d+ meets"
    ):
        editor.add("gate", "bow", bowtie)
