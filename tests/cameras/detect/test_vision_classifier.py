"""The vision classifier against the stand-in Ollama vision server (real HTTP)."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from homelab_hub.cameras.detect.vision import VisionClassifier
from homelab_hub.cameras.settings import VisionConfig
from homelab_hub.errors import InvalidInput, Unavailable, UpstreamError
from tests.support import free_port


def yard(with_object: bool) -> np.ndarray:
    img = np.full((240, 320, 3), (90, 140, 70), np.uint8)
    if with_object:
        img[100:160, 130:170] = (30, 30, 40)
    return img


def classifier_for(url: str, **overrides) -> VisionClassifier:
    return VisionClassifier(VisionConfig(url=url, **overrides))


def test_a_crop_showing_someone_is_an_alert_and_goes_as_jpeg_at_temperature_zero(ollama) -> None:
    vision = classifier_for(ollama.url)
    result = vision.classify(yard(True), camera="gate")
    assert result.verdict.verdict == "ALERT"
    assert "person" in result.verdict.description
    body = ollama.chats[-1]
    assert body["options"]["temperature"] == 0
    assert body["stream"] is False
    assert body["model"] == "qwen2.5vl:7b"
    assert "'gate'" in body["messages"][0]["content"]
    jpeg = base64.b64decode(body["messages"][0]["images"][0])
    assert jpeg[:3] == b"\xff\xd8\xff"
    assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (240, 320, 3)
    vision.close()


def test_structured_output_is_requested_from_servers_that_support_it(ollama) -> None:
    vision = classifier_for(ollama.url)
    result = vision.classify(yard(False), camera="gate")
    assert result.structured
    assert ollama.chats[-1]["format"]["properties"]["verdict"]["enum"] == [
        "ALERT",
        "CLEAR",
    ]
    assert result.verdict.verdict == "CLEAR"
    vision.close()


def test_an_old_server_gets_free_text_and_the_parser_decides(ollama) -> None:
    ollama.version = "0.4.7"
    vision = classifier_for(ollama.url, structured_output="auto")
    result = vision.classify(yard(True), camera="gate")
    assert not result.structured
    assert "format" not in ollama.chats[-1]
    assert result.verdict.verdict == "ALERT"
    vision.close()


def test_a_server_that_rejects_the_schema_is_asked_again_without_it(ollama) -> None:
    ollama.version = "0.4.7"
    vision = classifier_for(ollama.url, structured_output="on")
    result = vision.classify(yard(True), camera="gate")
    assert result.verdict.verdict == "ALERT"
    assert not result.structured
    assert "format" in ollama.chats[0]
    assert "format" not in ollama.chats[1]
    vision.close()


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("alert", "ALERT"), ("clear", "CLEAR"), ("hedged", "CLEAR"), ("negated", "CLEAR"), ("location", "CLEAR"),
     ("shadow", "CLEAR")],
)  # fmt: skip
def test_canned_answers_are_judged_by_the_seed_rules(ollama, mode: str, expected: str) -> None:
    ollama.mode = mode
    for structured in ("on", "off"):
        vision = classifier_for(ollama.url, structured_output=structured)
        for _ in range(2):
            assert vision.classify(yard(True), camera="gate").verdict.verdict == expected
        vision.close()


def test_ollama_down_is_unavailable_and_counted() -> None:
    vision = classifier_for(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(Unavailable, match="unreachable"):
        vision.classify(yard(True), camera="gate")
    health = vision.health()
    assert health.consecutive_failures == 1
    assert "unreachable" in health.last_error
    vision.close()


def test_a_slow_model_times_out_as_unavailable(ollama) -> None:
    ollama.delay_s = 2.0
    vision = classifier_for(ollama.url, timeout_s=0.3, structured_output="off")
    with pytest.raises(Unavailable):
        vision.classify(yard(True), camera="gate")
    vision.close()


def test_malformed_json_and_server_errors_are_upstream_errors(ollama) -> None:
    vision = classifier_for(ollama.url, structured_output="off")
    ollama.mode = "malformed"
    with pytest.raises(UpstreamError, match="not Ollama's chat JSON"):
        vision.classify(yard(True), camera="gate")
    ollama.mode = "error"
    with pytest.raises(UpstreamError, match="HTTP 500"):
        vision.classify(yard(True), camera="gate")
    ollama.mode = "look"
    assert vision.classify(yard(True), camera="gate").verdict.verdict == "ALERT"
    assert vision.health().consecutive_failures == 0
    vision.close()


def test_a_missing_model_says_how_to_fix_it(ollama) -> None:
    vision = classifier_for(ollama.url, model="llava:34b", structured_output="off")
    with pytest.raises(
        UpstreamError, match=r"'llava:34b' is not available .* pull it or fix \[vision\].model"
    ):
        vision.classify(yard(True), camera="gate")
    vision.close()


def test_a_per_camera_model_and_prompt_override_the_shared_ones(ollama) -> None:
    ollama.model = "moondream:1.8b"
    vision = classifier_for(ollama.url, structured_output="off")
    vision.classify(yard(True), camera="yard", model="moondream:1.8b", prompt="Is anyone at {camera}?")
    assert ollama.chats[-1]["model"] == "moondream:1.8b"
    assert ollama.chats[-1]["messages"][0]["content"] == "Is anyone at yard?"
    vision.close()


def test_big_images_are_shrunk_and_non_images_refused(ollama) -> None:
    vision = classifier_for(ollama.url, structured_output="off", max_image_px=256)
    vision.classify(np.zeros((2160, 3840, 3), np.uint8), camera="gate")
    jpeg = base64.b64decode(ollama.chats[-1]["messages"][0]["images"][0])
    assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape[:2] == (144, 256)
    with pytest.raises(InvalidInput):
        vision.classify(np.zeros((0, 0, 3), np.uint8), camera="gate")
    vision.close()
