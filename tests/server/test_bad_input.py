"""Malformed requests get the one error envelope, and the hub keeps serving. REST-only
checks run in-process (`local_hub`); body streaming and MCP need the real server (`hub`)."""

import httpx


def _envelope(response):
    body = response.json()
    assert body["ok"] is False
    assert set(body["error"]) >= {"code", "message"}
    assert "Traceback" not in response.text
    return body["error"]


def test_malformed_json_gets_400_envelope(local_hub):
    response = local_hub.post("/api/tools/hub_status", content=b"{not json")
    assert response.status_code == 400
    assert "JSON" in _envelope(response)["message"]


def test_a_non_object_body_gets_400(local_hub):
    response = local_hub.post("/api/tools/hub_status", json=[1, 2])
    assert response.status_code == 400
    assert "JSON object" in _envelope(response)["message"]


def test_unknown_fields_are_named_in_the_error(local_hub):
    response = local_hub.rest("hub_status", {"bogus": 1})
    assert response.status_code == 400
    assert "bogus" in _envelope(response)["message"]


def test_unknown_tool_gets_404_listing_the_real_ones(local_hub):
    response = local_hub.rest("no_such_tool")
    assert response.status_code == 404
    assert "hub_status" in _envelope(response)["message"]


def test_unknown_route_gets_the_envelope(local_hub):
    response = local_hub.get("/api/nothing-here")
    assert response.status_code == 404
    _envelope(response)


def test_a_10_mb_body_gets_413_and_the_hub_keeps_serving(hub):
    big = b'{"x": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    response = httpx.post(f"{hub.url}/api/tools/hub_status", content=big, timeout=60)
    assert response.status_code == 413
    assert _envelope(response)["code"] == "payload_too_large"
    assert hub.rest("hub_status").status_code == 200


def test_a_streamed_oversized_body_without_length_gets_413(hub):
    def chunks():
        for _ in range(40):
            yield b"a" * (256 * 1024)

    response = httpx.post(f"{hub.url}/api/tools/hub_status", content=chunks(), timeout=60)
    assert response.status_code == 413
    assert hub.rest("hub_status").status_code == 200


def test_mcp_calls_with_bad_arguments_return_readable_tool_errors(hub):
    result = hub.mcp_call("hub_status", {"bogus": True})
    assert result.is_error
    assert "bogus" in result.content[0].text


def test_mcp_call_of_an_unknown_tool_is_a_readable_error(hub):
    result = hub.mcp_call("no_such_tool", {})
    assert result.is_error
    assert "unknown tool" in result.content[0].text
