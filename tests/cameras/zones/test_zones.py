"""Zone validation, masks and the zone store on SQLite and MariaDB."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from homelab_hub.cameras.settings import ZoneConfig, ZoneList
from homelab_hub.cameras.zones.mask import ZoneMask, check_unique, parse_zone
from homelab_hub.cameras.zones.store import ZoneStore
from homelab_hub.errors import InvalidInput

SQUARE = [[0.1, 0.1], [0.4, 0.1], [0.4, 0.4], [0.1, 0.4]]


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([[0, 0], [1, 1]], "zone 'road' on camera 'gate': polygon needs at least 3 points, got 2"),
        ([[0, 0], [1.2, 0], [1, 1]], "point 1 (1.2, 0.0) is outside the image"),
        ([[0, 0], [-0.1, 0.5], [1, 1]], "outside the image"),
        ([[0, 0], [1, 1], [1, 0], [0, 1]], "polygon crosses itself"),
        ([[0, 0], [0.5, 0.5], [1, 1]], "no area"),
        ([[0, 0], ["a", 1], [1, 1]], "pair of numbers"),
        ([[0, 0, 0], [1, 0], [1, 1]], "pair [x, y]"),
    ],
)
def test_bad_polygons_are_refused_with_the_zone_and_camera_named(points: list, message: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_zone("gate", {"name": "road", "kind": "exclude", "points": points})
    assert message in err.value.message
    assert "zone 'road' on camera 'gate'" in err.value.message


def test_a_bad_zone_kind_or_name_is_refused() -> None:
    with pytest.raises(InvalidInput, match="kind"):
        parse_zone("gate", {"name": "road", "kind": "maybe", "points": SQUARE})
    with pytest.raises(InvalidInput, match="zone name"):
        parse_zone("gate", {"name": "../etc", "points": SQUARE})
    with pytest.raises(InvalidInput, match="an object"):
        parse_zone("gate", ["not", "a", "zone"])


def test_zone_names_must_be_unique_per_camera() -> None:
    zone = parse_zone("gate", {"name": "road", "points": SQUARE})
    with pytest.raises(InvalidInput, match="already used"):
        check_unique("gate", [zone, zone])

    class Camera(BaseModel):
        zones: ZoneList

    with pytest.raises(ValidationError, match="used twice"):
        Camera(zones=[zone, zone])


def test_config_zone_validation_names_the_problem() -> None:
    with pytest.raises(ValidationError, match="polygon needs at least 3 points, got 2"):
        ZoneConfig(name="road", points=[(0, 0), (1, 1)])


def test_exclude_mask_zeroes_the_zone_and_include_mask_keeps_only_it() -> None:
    exclude = ZoneMask([parse_zone("gate", {"name": "road", "points": SQUARE})]).for_size(100, 100)
    assert exclude is not None
    assert exclude[25, 25] == 0
    assert exclude[80, 80] == 255
    include = ZoneMask([parse_zone("gate", {"name": "door", "kind": "include", "points": SQUARE})]).for_size(
        100, 100
    )
    assert include is not None
    assert include[25, 25] == 255
    assert include[80, 80] == 0
    assert ZoneMask([]).for_size(100, 100) is None


def test_stored_zones_replace_the_config_zones(db) -> None:
    store = ZoneStore(db)
    config_zone = parse_zone("gate", {"name": "road", "points": SQUARE})
    assert store.load("gate", [config_zone]).source == "config"
    store.save("gate", [])
    loaded = store.load("gate", [config_zone])
    assert loaded.source == "database"
    assert loaded.zones == []
    grill = parse_zone("gate", {"name": "grill", "kind": "include", "points": SQUARE})
    store.save("gate", [grill])
    assert store.load("gate", [config_zone]).zones == [grill]
    assert store.load("yard", []).zones == []


def test_corrupt_stored_zones_fall_back_to_config_and_keep_the_camera_running(db) -> None:
    db.execute(
        "INSERT INTO camera_zones (camera, zones_json, updated_at) VALUES (?, ?, ?)",
        ("gate", "{not json", 1.0),
    )
    db.execute(
        "INSERT INTO camera_zones (camera, zones_json, updated_at) VALUES (?, ?, ?)",
        ("yard", '[{"name": "x", "points": [[0, 0], [1, 1]]}]', 1.0),
    )
    config_zone = parse_zone("gate", {"name": "road", "points": SQUARE})
    for camera in ("gate", "yard"):
        loaded = ZoneStore(db).load(camera, [config_zone])
        assert loaded.zones == [config_zone]
        assert loaded.source == "config (stored zones unreadable)"
