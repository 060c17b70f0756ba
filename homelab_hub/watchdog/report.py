"""The report that ends every check: ✅ nominal / 🔧 fixed / 🤖 code fix applied / 🚨 needs a
human, with what a human needs to act: the problems, the restart history against the budget,
Claude's analysis, what Claude's deployed fix changed and how to undo it, the incident id.

Everything in it was redacted when captured; the body is redacted once more on the way out,
as it leaves the process for a chat service.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from homelab_hub.redact import redact_text
from homelab_hub.watchdog.escalation import Outcome

RANK = {"nominal": 0, "fixed": 1, "code_fixed": 2, "needs_human": 3}
HEADLINE = {
    "nominal": "✅ All systems nominal",
    "fixed": "🔧 Issue detected and fixed",
    "code_fixed": "🤖 Claude auto-fix applied",
    "needs_human": "🚨 Needs manual intervention",
}
EMOJI = {"nominal": "✅", "fixed": "🔧", "code_fixed": "🤖", "needs_human": "🚨"}


@dataclass
class CheckReport:
    started_at: float
    finished_at: float
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)

    @property
    def overall(self) -> str:
        return max((o.report for o in self.outcomes.values()), key=RANK.__getitem__, default="nominal")

    @property
    def needs_human(self) -> list[str]:
        return [name for name, o in self.outcomes.items() if o.report == "needs_human"]

    def title(self) -> str:
        return f"Homelab watchdog — {HEADLINE[self.overall]}"

    def body(self) -> str:
        lines: list[str] = []
        for name, outcome in sorted(self.outcomes.items(), key=lambda kv: (-RANK[kv[1].report], kv[0])):
            if outcome.report == "nominal":
                continue
            lines.append(f"{EMOJI[outcome.report]} {name}")
            for finding in outcome.findings:
                lines.append(f"  Problem: {finding.message}")
            if outcome.attempts:
                lines.append(f"  Restart attempts: {outcome.attempts}")
            if outcome.history and outcome.report != "fixed":
                lines.append(f"  Restart history: {outcome.history}")
            if outcome.report == "fixed" and outcome.detail:
                lines.append(f"  Fix: {outcome.detail}")
            if outcome.report == "code_fixed":
                lines.append(f"  Claude applied a fix: {outcome.detail}")
                if outcome.claude is not None:
                    lines.append(f"  Claude's analysis: {outcome.claude.summary[:1500]}")
                if outcome.undo:
                    lines.append(f"  Undo: {outcome.undo}")
            elif outcome.claude is not None:
                lines.append(f"  Claude attempted a fix but failed: {outcome.detail[:600]}")
                if outcome.claude.summary not in outcome.detail:
                    lines.append(f"  Claude's analysis: {outcome.claude.summary[:1500]}")
            if outcome.incident_id is not None:
                lines.append(
                    f"  Incident: {outcome.incident_id} (watchdog://incidents/{outcome.incident_id})"
                )
        nominal = sorted(name for name, o in self.outcomes.items() if o.report == "nominal")
        if nominal:
            lines.append(f"✅ nominal: {', '.join(nominal)}")
        return redact_text("\n".join(lines)) or "✅ nothing is watched"
