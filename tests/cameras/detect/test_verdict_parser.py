"""The free-text verdict parser against answers phrased the way vision models phrase them."""

from __future__ import annotations

import pytest

from homelab_hub.cameras.detect.verdict import VerdictParser, normalize_description
from homelab_hub.cameras.settings import VisionConfig

ANSWERS: list[tuple[str, str]] = [
    # Plain verdicts, as prompted.
    ("ALERT: A person in a dark hoodie is standing at the front door.", "ALERT"),
    ("ALERT - A delivery driver is placing a package on the porch.", "ALERT"),
    ("ALERT\nA man is climbing over the side fence.", "ALERT"),
    ("**ALERT** A white pickup truck has pulled into the driveway.", "ALERT"),
    ("Verdict: ALERT. A dog is digging near the flower bed.", "ALERT"),
    ("alert. someone is walking up the driveway toward the garage", "ALERT"),
    ("ALERT", "ALERT"),
    ("CLEAR: The driveway is empty; only snow is falling.", "CLEAR"),
    ("CLEAR - Tree branches are swaying in the wind.", "CLEAR"),
    ("Clear. The backyard is empty and the lighting is even.", "CLEAR"),
    ("CLEAR", "CLEAR"),
    ("Classification: CLEAR\nDescription: an empty patio with a kamado grill.", "CLEAR"),
    # Structured answers, and JSON wrapped in prose or a code fence.
    ('{"verdict": "ALERT", "description": "A person is trying the handle of the back door."}', "ALERT"),
    ('{"verdict": "CLEAR", "description": "Empty yard at night."}', "CLEAR"),
    ('```json\n{"verdict": "ALERT", "description": "A raccoon on the deck"}\n```', "ALERT"),
    ('{"verdict": "ALERT", "description": "A vehicle on the road beyond the gate."}', "CLEAR"),
    (
        '{"verdict": "ALERT", "description": "No people, vehicles, or animals are visible in the frame."}',
        "CLEAR",
    ),
    # The negation problem (seed): subject words inside negated sentences.
    ("No people, vehicles, or animals are visible in the frame.", "CLEAR"),
    ("There are no people or vehicles present in this image.", "CLEAR"),
    ("I don't see any person or animal in the scene.", "CLEAR"),
    ("The image shows an empty driveway without any vehicles or people.", "CLEAR"),
    ("Nothing unusual; no person is visible near the gate.", "CLEAR"),
    ("The scene is free of people and animals; the porch light is on.", "CLEAR"),
    ("There isn't a person anywhere in this crop, just a bush moving.", "CLEAR"),
    ("CLEAR. No person or vehicle detected, only rain on the lens.", "CLEAR"),
    ("ALERT: No people, vehicles or animals are present in the frame.", "CLEAR"),
    # The hedge problem (seed): both words → CLEAR.
    ("ALERT or CLEAR? Hard to say - CLEAR, probably just a shadow.", "CLEAR"),
    ("ALERT/CLEAR: uncertain, the image is too dark to tell.", "CLEAR"),
    ("I would lean towards ALERT, but it could also be CLEAR given the blur.", "CLEAR"),
    ("ALERT\nOn reflection this is CLEAR, it is a plastic bag.", "CLEAR"),
    # Hedged free text without a verdict word: not enough to wake someone up.
    ("There might be a person behind the hedge, but the image is unclear.", "CLEAR"),
    ("It is difficult to determine whether the dark shape is an animal.", "CLEAR"),
    ("Possibly a cat near the shed; the image is very blurry.", "CLEAR"),
    # The location confusion (seed).
    ("ALERT: A vehicle on the road beyond the gate.", "CLEAR"),
    ("A car is driving past the gate on the street.", "CLEAR"),
    ("ALERT - a person walking on the public sidewalk beyond the gate.", "CLEAR"),
    ("A truck parked across the street.", "CLEAR"),
    ("ALERT: A person is at the front door. A car passes on the street.", "ALERT"),
    # The shadow problem (seed).
    ("ALERT: The shadow of a person moves across the driveway.", "CLEAR"),
    ("The shadow of a tree branch is moving across the driveway.", "CLEAR"),
    ("A reflection of a car in the window of the garage.", "CLEAR"),
    # Free text without a verdict word.
    ("A person wearing a backpack is walking toward the back door.", "ALERT"),
    ("Two children are playing on the lawn next to the trampoline.", "ALERT"),
    ("A deer is eating the shrubs by the fence.", "ALERT"),
    ("The image shows a wet patio and a garden hose.", "CLEAR"),
    ("Headlights sweep across the garage door; the scene is otherwise empty.", "CLEAR"),
    # Negated verdict words.
    ("This is not an ALERT situation: the yard is empty.", "CLEAR"),
    ("No ALERT needed. A plastic bag is blowing across the lawn.", "CLEAR"),
    # Clause breaks stop the negation lookback.
    ("No vehicles in the driveway, but a man is standing by the garage door.", "ALERT"),
    ("Nothing on the porch; however, someone is opening the side gate.", "ALERT"),
    # Malformed or empty answers.
    ("", "CLEAR"),
    ("   \n  ", "CLEAR"),
    ('{"verdict": ', "CLEAR"),
    ("<|im_end|>", "CLEAR"),
    ('{"verdict": "MAYBE", "description": "a person near the gate, possibly"}', "CLEAR"),
    ('{"verdict": "MAYBE", "description": "a person at the door"}', "ALERT"),
    ("I'm sorry, I can't analyze this image.", "CLEAR"),
]


@pytest.fixture(scope="module")
def parser() -> VerdictParser:
    return VerdictParser(VisionConfig())


def test_the_table_has_at_least_forty_answers() -> None:
    assert len(ANSWERS) >= 40


@pytest.mark.parametrize(("answer", "expected"), ANSWERS, ids=[f"{i:02d}" for i in range(len(ANSWERS))])
def test_parser_reads_model_answer(parser: VerdictParser, answer: str, expected: str) -> None:
    got = parser.parse(answer)
    assert got.verdict == expected, f"{answer!r} -> {got.verdict} ({got.reason})"


def test_description_drops_the_leading_verdict_word(parser: VerdictParser) -> None:
    assert parser.parse("ALERT: A man at the gate.").description == "A man at the gate."
    assert parser.parse('{"verdict": "ALERT", "description": " A fox "}').description == "A fox"


def test_negation_lookback_is_configurable() -> None:
    answer = "No cars in the long gravel driveway by the old barn or any person."
    assert VerdictParser(VisionConfig(negation_lookback_chars=60)).parse(answer).verdict == "CLEAR"
    assert VerdictParser(VisionConfig(negation_lookback_chars=25)).parse(answer).verdict == "ALERT"


def test_location_phrases_come_from_config() -> None:
    answer = "ALERT: a person on the neighbour's lawn."
    assert VerdictParser(VisionConfig()).parse(answer).verdict == "ALERT"
    custom = VisionConfig(location_negations=["on the neighbour's lawn"])
    assert VerdictParser(custom).parse(answer).verdict == "CLEAR"


def test_normalized_description_keeps_letters_only() -> None:
    assert normalize_description("A Person, at the GATE! (2 of them)") == "a person at the gate of them"
