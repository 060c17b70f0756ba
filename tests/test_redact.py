"""Redaction masks secrets and never changes a message the hub wrote itself."""

import ast
from pathlib import Path

import pytest

import homelab_hub
from homelab_hub import errors
from homelab_hub.redact import redact_text

PACKAGE = Path(homelab_hub.__file__).parent
ERROR_CLASSES = {
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.HubError)
}


def _our_error_messages() -> list[tuple[str, str]]:
    """Every message the hub raises as a HubError, its f-string fields filled with a plain name."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args):
                continue
            if node.func.id not in ERROR_CLASSES:
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                text = first.value
            elif isinstance(first, ast.JoinedStr):
                text = "".join(v.value if isinstance(v, ast.Constant) else "gate" for v in first.values)
            else:
                continue
            found.append((f"{path.relative_to(PACKAGE)}:{node.lineno}", text))
    return found


def test_redaction_leaves_every_error_message_we_wrote_unchanged():
    messages = _our_error_messages()
    assert len(messages) > 100  # the scan finds the hub's errors
    changed = {where: redact_text(text) for where, text in messages if redact_text(text) != text}
    assert changed == {}


def test_a_request_without_a_token_reads_the_whole_401_text(local_hub):
    local_hub.create_token("agent-a")
    response = local_hub.post("/api/tools/hub_status", json={})
    assert response.json()["error"]["message"] == "missing bearer token: send 'Authorization: Bearer <token>'"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password: hunter2", "password: ***"),
        ("password=secret", "password=***"),
        ('"api_key": "abc"', '"api_key": "***"'),
        ("TOKEN: abcdefghijklmnopqrstuv", "TOKEN: ***"),
        ("Authorization: Bearer abcdefgh1234", "Authorization: Bearer ***"),
        ("rtsp://admin:pw@cam/live", "rtsp://admin:***@cam/live"),
        (
            "expected mysql+pymysql://user:<password>@host/db",
            "expected mysql+pymysql://user:<password>@host/db",
        ),
    ],
)
def test_secrets_are_still_masked_but_placeholders_are_not(text, expected):
    assert redact_text(text) == expected
