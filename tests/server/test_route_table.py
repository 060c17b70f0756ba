"""The whole route table, walked through a real hub: every route declares who may use it and
is answered accordingly, and every response says nosniff. A route added later is covered
without anyone remembering to add it here (its bad path values: test_bad_input_table.py)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from homelab_hub.server.access import PUBLIC, access_of, check_declared, declare

PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


def _routes(app: Any) -> list[BaseRoute]:
    return list(app.routes)


def methods_of(route: BaseRoute) -> list[str]:
    if isinstance(route, Route):
        return sorted(m for m in (route.methods or {"GET"}) if m != "HEAD")
    return ["GET"]


def concrete(path: str, value: str) -> str:
    return PARAM.sub(value, path)


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
        path = concrete(getattr(route, "path", "/"), "1") + ("/" if isinstance(route, Mount) else "")
        for method in methods_of(route):
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
        method = "POST" if isinstance(route, Mount) else methods_of(route)[0]
        answer = httpx.request(method, hub.url + path, json={}, cookies=cookie, timeout=30)
        assert answer.status_code == 401, (method, path, answer.status_code)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
