"""Authorisation on every agent route, CSRF, same-origin sockets, and safe rendering."""

from __future__ import annotations

import aiohttp
import pytest

from bot.accounts import Permission, Role
from bot.gateway import keys
from bot.gateway.pages import CONTENT_SECURITY_POLICY
from tests.support.agent import PASSWORD, Harness, HarnessFactory

CID = "0123456789abcdef0123456789abcdef"
AGENT_API = [
    ("GET", "/api/v1/agent/state"),
    ("POST", "/api/v1/agent/duty"),
    ("GET", f"/api/v1/agent/conversations/{CID}"),
    ("POST", f"/api/v1/agent/conversations/{CID}/claim"),
    ("POST", f"/api/v1/agent/conversations/{CID}/messages"),
    ("POST", f"/api/v1/agent/conversations/{CID}/transfer"),
    ("POST", f"/api/v1/agent/conversations/{CID}/handback"),
    ("POST", f"/api/v1/agent/conversations/{CID}/close"),
    ("POST", f"/api/v1/agent/conversations/{CID}/assist"),
    ("POST", f"/api/v1/agent/conversations/{CID}/workorder"),
    ("POST", "/api/v1/agent/notes/1/reply"),
    ("POST", "/api/v1/agent/calls"),
    ("POST", "/api/v1/agent/calls/c1/segments"),
    ("POST", "/api/v1/agent/calls/c1/end"),
    ("POST", "/api/v1/agent/knowledge-flags"),
]


def test_every_agent_route_is_in_the_list(gateway: Harness) -> None:
    """A new route must be added above, so that the checks below cover it."""
    mounted = {
        (route.method, route.resource.canonical)
        for route in gateway.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/v1/agent")
        and route.method != "HEAD"
    }
    listed = {
        (
            method,
            path.replace(CID, "{conversation_id}")
            .replace("/1/", "/{note_id}/")
            .replace("/c1/", "/{call_id}/"),
        )
        for method, path in AGENT_API
    }
    assert mounted == listed


async def test_anonymous_requests_are_refused(gateway: Harness) -> None:
    async with aiohttp.ClientSession() as http:
        for method, path in AGENT_API:
            async with http.request(
                method, gateway.base + path, json={}, headers={"Accept": "application/json"}
            ) as response:
                assert response.status == 401, path
                assert (await response.json())["error"] == "unauthenticated"


async def test_the_page_redirects_anonymous_browsers_to_login(gateway: Harness) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            gateway.base + "/agent/", headers={"Accept": "text/html"}, allow_redirects=False
        ) as response,
    ):
        assert response.status == 303
        assert response.headers["Location"].startswith("/login?next=/agent/")


async def test_administrators_are_not_agents_unless_granted(gateway: Harness) -> None:
    """Administrators run the system, not the hotline (README, roles): they are told why
    and how to get access, which a permission on their own account then gives them."""
    admin = await gateway.agent("admin1")
    for method, path in AGENT_API:
        status, body = await (admin.get(path) if method == "GET" else admin.post(path, {}))
        assert status == 403 and body["error"] == "forbidden", path
        assert "开通“处理会话”权限" in body["message"], path
    await gateway.app[keys.ACCOUNTS].users.create(
        "admin2",
        PASSWORD,
        Role.ADMIN,
        extra_permissions=frozenset({Permission.HANDLE_CONVERSATIONS}),
    )
    granted = await gateway.agent("admin2")
    assert (await granted.get("/api/v1/agent/state"))[0] == 200
    await granted.on_duty()


async def test_posts_without_the_csrf_token_are_refused(gateway: Harness) -> None:
    agent = await gateway.agent("agent1")
    for _, path in (p for p in AGENT_API if p[0] == "POST"):
        status, body = await agent.post(path, {}, csrf=False)
        assert status == 403 and body["error"] == "csrf_failed", path
        status, body = await agent.post(path, {}, csrf=False, **{"X-CSRF-Token": "forged"})
        assert status == 403 and body["error"] == "csrf_failed", path


async def test_cross_site_socket_is_refused(gateway: Harness) -> None:
    agent = await gateway.agent("agent1")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await agent.http.ws_connect(gateway.base + "/agent/ws", origin="https://evil.example")
    assert refused.value.status == 403


async def test_agents_act_only_on_their_own_conversations(gateway: Harness) -> None:
    owner, other = await gateway.agent("agent1"), await gateway.agent("agent2")
    supervisor = await gateway.agent("super1")
    await owner.on_duty()
    citizen = await gateway.citizen()
    cid = citizen.conversation_id
    base = f"/api/v1/agent/conversations/{cid}"
    # Before any handoff the conversation is the bot's: agents cannot read it.
    assert (await other.get(base))[0] == 403
    await citizen.say("转人工")
    assert (await other.get(base))[0] == 200  # waiting: any agent may look before claiming
    await owner.post(base + "/claim")
    assert (await other.get(base))[0] == 403
    for action, body in (
        ("/messages", {"text": "你好"}),
        ("/handback", {}),
        ("/close", {"wrap_up": "answered"}),
        ("/transfer", {"to": "queue"}),
        ("/assist", {}),
        ("/workorder", {"content": "x", "phone": "13805311234"}),
    ):
        status, answer = await other.post(base + action, body)
        assert status == 403 and answer["error"] == "not_yours", action
    status, answer = await other.post(base + "/claim")
    assert status == 409
    # A supervisor may step in.
    assert (await supervisor.get(base))[0] == 200
    assert (await supervisor.post(base + "/messages", {"text": "我是班长"}))[0] == 200


async def test_page_is_served_with_strict_headers_and_no_inline_script(
    gateway: Harness,
) -> None:
    agent = await gateway.agent("agent1")
    async with agent.http.get(gateway.base + "/agent/") as response:
        assert response.status == 200
        html = await response.text()
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"
    assert "<script>" not in html and 'src="/static/agent/agent.js?v=' in html
    assert "话务员甲" in html


async def test_citizen_markup_reaches_the_console_as_plain_json_text(gateway: Harness) -> None:
    agent = await gateway.agent("agent1")
    await agent.on_duty()
    citizen = await gateway.citizen()
    await citizen.say("转人工")
    attack = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    await citizen.say(attack)
    status, body = await agent.get(f"/api/v1/agent/conversations/{citizen.conversation_id}")
    assert status == 200
    assert any(row["text"] == attack for row in body["rows"])  # data, never markup


async def test_session_cookie_is_secure_behind_https(start_gateway: HarnessFactory) -> None:
    gateway = await start_gateway(public_url="https://hotline.example.gov.cn")
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            gateway.base + "/api/v1/auth/login",
            json={"username": "agent1", "password": "correct-horse-42"},
            headers={"Origin": "https://hotline.example.gov.cn"},
        ) as response,
    ):
        assert response.status == 200
        cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-hotline_session=")
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in cookie
