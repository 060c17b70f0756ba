"""The whole route table, walked through a real hub: every route declares who may use it and
is answered accordingly; every path parameter survives out-of-range, non-number and
traversal values without a 500; every response says nosniff. A route added later is covered
without anyone remembering to add it here."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from homelab_hub.server.access import PUBLIC, access_of, check_declared, declare
from homelab_hub.server.app import create_app
from tests.hubclient import hub_config

BAD_VALUES = {"out-of-range": "9" * 30, "non-number": "abc", "traversal": "..%2F..%2Fetc%2Fpasswd"}
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


@pytest.fixture(scope="module")
def table_hub(tmp_path_factory) -> Any:
    from tests.hubclient import RunningHub
    from tests.support import free_port

    tmp = tmp_path_factory.mktemp("routes")
    hub = RunningHub(hub_config(tmp, free_port(), {"memory": {"enabled": False}})).start()
    try:
        yield {
            "hub": hub,
            "agent": hub.create_token("walker"),
            "admin": hub.create_token("root", admin=True),
        }
    finally:
        hub.stop()


def _routes(app: Any) -> list[BaseRoute]:
    return list(app.routes)


def _methods(route: BaseRoute) -> list[str]:
    if isinstance(route, Route):
        return sorted(m for m in (route.methods or {"GET"}) if m != "HEAD")
    return ["GET"]


def _concrete(path: str, value: str) -> str:
    return _PARAM.sub(value, path)


def test_every_route_of_the_app_declares_who_may_use_it(table_hub):
    undeclared = [getattr(r, "path", r) for r in _routes(table_hub["hub"].app) if access_of(r) is None]
    assert undeclared == []


def test_the_hub_refuses_to_start_with_a_route_that_declares_nothing():
    async def endpoint(request: Any) -> Any:
        return None

    with pytest.raises(RuntimeError, match=r"/forgotten.*declare no access"):
        check_declared([declare(PUBLIC, Route("/fine", endpoint)), Route("/forgotten", endpoint)])


def test_every_route_answers_a_caller_as_its_declaration_says(table_hub):
    hub, agent = table_hub["hub"], table_hub["agent"]
    wrong: list[str] = []
    for route in _routes(hub.app):
        access = access_of(route)
        assert access is not None
        if isinstance(route, WebSocketRoute):
            continue  # the WebSocket's refusals are tested in tests/web/test_live_protocol.py
        path = _concrete(getattr(route, "path", "/"), "1") + ("/" if isinstance(route, Mount) else "")
        for method in _methods(route):
            anonymous = httpx.request(method, hub.url + path, timeout=30)
            if access.who == "public":
                if anonymous.status_code == 401:
                    wrong.append(f"{method} {path}: public, but 401 without a credential")
            elif access.via == "browser":
                if anonymous.status_code != 303 or not anonymous.headers["location"].startswith("/login"):
                    wrong.append(f"{method} {path}: a page, but {anonymous.status_code} without a session")
            elif anonymous.status_code != 401:
                wrong.append(f"{method} {path}: for agents, but {anonymous.status_code} without a token")
            if access.who == "admin":
                as_agent = httpx.request(method, hub.url + path, headers=_bearer(agent), timeout=30)
                if as_agent.status_code != 403:
                    wrong.append(f"{method} {path}: for admins, but {as_agent.status_code} for an agent")
            if anonymous.headers.get("x-content-type-options") != "nosniff":
                wrong.append(f"{method} {path}: no X-Content-Type-Options: nosniff")
    assert wrong == []


def test_the_routes_for_bearer_tokens_never_take_a_browser_session_cookie(table_hub):
    hub = table_hub["hub"]
    signed_in = httpx.post(
        hub.url + "/login", data={"token": table_hub["admin"]}, headers={"Origin": hub.url}, timeout=30
    )
    cookie = {"hh_session": signed_in.cookies["hh_session"]}
    assert (
        httpx.post(hub.url + "/api/tools/hub_status", json={}, cookies=cookie, timeout=30).status_code == 403
    )
    for route in _routes(hub.app):
        access = access_of(route)
        if access is None or access.via != "bearer":
            continue
        path = getattr(route, "path", "/") + ("/" if isinstance(route, Mount) else "")
        method = "POST" if isinstance(route, Mount) else _methods(route)[0]
        answer = httpx.request(method, hub.url + path, json={}, cookies=cookie, timeout=30)
        assert answer.status_code == 401, (method, path, answer.status_code)


def _bad_cases() -> list[Any]:
    config = hub_config(Path("/nonexistent/route-table"), 1, {"memory": {"enabled": False}})
    cases = []
    for route in create_app(config).routes:
        path = getattr(route, "path", "")
        if isinstance(route, WebSocketRoute):
            continue
        if isinstance(route, Mount):
            for kind, value in BAD_VALUES.items():
                cases.append(pytest.param("GET", f"{path}/{value}", id=f"GET {path}/*-{kind}"))
            continue
        if not _PARAM.search(path):
            continue
        for method in _methods(route):
            for kind, value in BAD_VALUES.items():
                cases.append(pytest.param(method, _concrete(path, value), id=f"{method} {path}-{kind}"))
    return cases


@pytest.mark.parametrize(("method", "path"), _bad_cases())
def test_a_bad_path_parameter_on_any_route_is_a_clear_error_never_a_500(table_hub, caplog, method, path):
    hub = table_hub["hub"]
    with caplog.at_level(logging.INFO):
        answer = httpx.request(
            method, hub.url + path, headers=_bearer(table_hub["admin"]), json={}, timeout=30
        )
    assert answer.status_code != 500, answer.text
    assert answer.status_code < 500 or answer.status_code == 503, answer.text
    assert "Traceback" not in caplog.text
    if answer.status_code >= 400 and answer.headers.get("content-type", "").startswith("application/json"):
        assert answer.json()["error"]["message"], answer.text


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
