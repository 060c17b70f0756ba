"""Turns a vision model's answer into ALERT or CLEAR, with the seed's hard-won rules.

Vision models hedge, negate and wander. The rules, in order:

1. Verdict words: ``ALERT``/``CLEAR`` in capitals anywhere, or in any case at the start of a
   line or after "verdict:"/"classification:"/"answer:". A verdict word with a negation just
   before it in its clause ("not an ALERT") does not count.
2. Both verdicts in one answer (on one line or across lines) → CLEAR: the model was unsure,
   and missing an event beats a false alarm at 3 AM.
3. Each sentence of the description is sorted: *negated* (starts with no/not/without … and
   ends with visible/present/found …; places its subject beyond the gate / on the road / on
   the street; talks about the shadow or reflection of something), *positive* (names a
   subject — person, vehicle, animal … — with no negation within 60 characters before it in
   the same clause, and no hedge unless the model said ALERT), or *neutral*.
4. ALERT stands unless the description has negated sentences and no positive one
   ("ALERT: a vehicle on the road beyond the gate" → CLEAR). CLEAR stands. Without a
   verdict word, a positive sentence makes it ALERT; anything else is CLEAR.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from homelab_hub.cameras.settings import VisionConfig

VerdictWord = Literal["ALERT", "CLEAR"]

_VERDICT_UPPER = re.compile(r"\b(ALERT|CLEAR)\b")
_VERDICT_LEAD = re.compile(
    r"(?:^|\n)[\s>*#\-\"'`_]*(?:(?:final\s+)?(?:verdict|classification|answer|result|status|decision)\s*[:=\-]\s*)?"
    r"[*\"'`_]*(alert|clear)\b",
    re.IGNORECASE,
)
_VERDICT_LABELLED = re.compile(
    r"(?:verdict|classification|answer|result|status|decision)\s*(?:is)?\s*[:=\-]?\s*[*\"'`_]*(alert|clear)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_CLAUSE_BREAK = re.compile(
    r"[.!?;\n]|\b(?:but|however|although|though|yet|except|whereas|while)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Verdict:
    verdict: VerdictWord
    description: str
    reason: str  # why the parser decided, for logs and tests


class VerdictParser:
    """Parses free text (and JSON {verdict, description}) with the phrases from VisionConfig."""

    def __init__(self, config: VisionConfig | None = None) -> None:
        cfg = config or VisionConfig()
        self.lookback = cfg.negation_lookback_chars
        self._negation = _phrases(cfg.negation_words)
        self._sentence_starts = re.compile(
            r"^[\W_]*(?:" + "|".join(_escape(p) for p in cfg.sentence_negation_starts) + r")\b", re.IGNORECASE
        )
        self._sentence_ends = re.compile(
            r"(?:" + "|".join(_escape(p) for p in cfg.sentence_negation_ends) + r")[\W_]*$", re.IGNORECASE
        )
        self._location = _phrases(cfg.location_negations)
        self._appearance = _phrases(cfg.appearance_negations)
        self._hedge = _phrases(cfg.hedge_words)
        self._subject = _phrases(
            [*cfg.subject_words, *(w + "s" for w in cfg.subject_words if not w.endswith("s"))]
        )

    # -- entry points ---------------------------------------------------------------------
    def parse(self, text: str) -> Verdict:
        """Free text (or a JSON object in it) to a verdict. Never raises."""
        text = (text or "").strip()
        structured = _try_json(text)
        if structured is not None:
            return self.parse_structured(*structured)
        return self._parse_text(text)

    def _parse_text(self, text: str) -> Verdict:
        clean = re.sub(r"[*_`#]+", "", text)
        if not clean.strip():
            return Verdict("CLEAR", "", "empty answer")
        words = self._verdict_words(clean)
        description = _description(clean)
        kinds = {w for w, _ in words}
        if len(kinds) == 2:
            return Verdict("CLEAR", description, "hedge: both ALERT and CLEAR")
        sentences = self._sorted_sentences(description, committed=kinds == {"ALERT"})
        if kinds == {"CLEAR"}:
            return Verdict("CLEAR", description, "verdict word CLEAR")
        if kinds == {"ALERT"}:
            if "negated" in sentences and "positive" not in sentences:
                return Verdict("CLEAR", description, "ALERT contradicted by a negated description")
            return Verdict("ALERT", description, "verdict word ALERT")
        if "positive" in sentences:
            return Verdict("ALERT", description, "subject named without negation")
        return Verdict("CLEAR", description, "no verdict word and no subject")

    def parse_structured(self, verdict: str, description: str) -> Verdict:
        """A structured answer: the model's verdict, still checked against the negation rules
        (a schema does not stop "a car on the road beyond the gate" from saying ALERT)."""
        word = verdict.strip().upper()
        description = " ".join(description.split())[:1000]
        if word not in ("ALERT", "CLEAR"):
            return self._parse_text(f"{verdict}\n{description}")
        if word == "CLEAR":
            return Verdict("CLEAR", description, "structured CLEAR")
        sentences = self._sorted_sentences(description, committed=True)
        if "negated" in sentences and "positive" not in sentences:
            return Verdict("CLEAR", description, "structured ALERT contradicted by a negated description")
        return Verdict("ALERT", description, "structured ALERT")

    # -- rules ----------------------------------------------------------------------------
    def _verdict_words(self, text: str) -> list[tuple[str, int]]:
        found: dict[int, str] = {}
        for rx in (_VERDICT_UPPER, _VERDICT_LEAD, _VERDICT_LABELLED):
            for m in rx.finditer(text):
                found.setdefault(m.start(1), m.group(1).upper())
        return [(w, pos) for pos, w in sorted(found.items()) if not self._negated_at(text, pos)]

    def _negated_at(self, text: str, pos: int) -> bool:
        """A negation cue within the lookback window, in the same clause, before ``pos``."""
        window = text[max(0, pos - self.lookback) : pos]
        breaks = list(_CLAUSE_BREAK.finditer(window))
        if breaks:
            window = window[breaks[-1].end() :]
        return bool(self._negation.search(window))

    def _sorted_sentences(self, description: str, *, committed: bool) -> set[str]:
        kinds: set[str] = set()
        for sentence in _SENTENCE_END.split(description):
            sentence = sentence.strip()
            if sentence:
                kinds.add(self._sentence_kind(sentence, committed))
        return kinds

    def _sentence_kind(self, sentence: str, committed: bool) -> str:
        body = sentence.rstrip(" .!?;:")
        if self._sentence_starts.search(body) and self._sentence_ends.search(body):
            return "negated"
        if self._location.search(sentence) or self._appearance.search(sentence):
            return "negated"
        subjects = [m for m in self._subject.finditer(sentence) if not self._negated_at(sentence, m.start())]
        if not subjects:
            return (
                "negated" if self._negation.search(sentence) and self._subject.search(sentence) else "neutral"
            )
        if not committed and self._hedge.search(sentence):
            return "neutral"
        return "positive"


def normalize_description(text: str) -> str:
    """Lower case, letters and spaces only: "A Person, at the gate!" -> "a person at the gate".
    Suppression patterns and review grouping match on this form."""
    return " ".join(re.sub(r"[^a-z ]+", " ", text.lower()).split())


def _phrases(words: list[str]) -> re.Pattern[str]:
    if not words:
        return re.compile(r"(?!x)x")
    ordered = sorted({w.strip() for w in words if w.strip()}, key=len, reverse=True)
    return re.compile("|".join(_bounded(w) for w in ordered), re.IGNORECASE)


def _bounded(phrase: str) -> str:
    # "n't" is glued to its verb ("isn't"), so it starts inside a word.
    start = r"(?<=\w)" if phrase.startswith("n't") else r"(?<!\w)"
    return start + _escape(phrase) + r"(?!\w)"


def _escape(phrase: str) -> str:
    return re.escape(phrase).replace(r"\ ", r"\s+")


def _description(text: str) -> str:
    """The answer minus its leading verdict word and label."""
    out = re.sub(
        r"^[\s>\-\"'`]*(?:(?:final\s+)?(?:verdict|classification|answer|result|status|decision)\s*[:=\-]\s*)?"
        r"(?:ALERT|CLEAR)\b[\s:.,\-–—!]*",
        "",
        text.strip(),
        flags=re.IGNORECASE,
    )
    return " ".join(out.split())[:1000]


def _try_json(text: str) -> tuple[str, str] | None:
    """(verdict, description) when the answer is (or wraps) a JSON object with a verdict."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(text[start : end + 1])
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("verdict"), str):
        return None
    description = data.get("description", "")
    return data["verdict"], description if isinstance(description, str) else str(description)
