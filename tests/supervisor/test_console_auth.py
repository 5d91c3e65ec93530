"""Accounts, sessions, CSRF and the audit log, through the gateway's real HTTP stack."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from aiohttp import web
from redis.asyncio import Redis

from bot.accounts import (
    AuditLog,
    Permission,
    RedisSessionStore,
    Role,
    SessionPolicy,
    SqlSessionStore,
    UserStore,
    passwords,
)
from bot.accounts.store import MAX_FAILED_LOGINS
from bot.gateway import keys
from bot.gateway.app import create_app
from bot.gateway.auth import audit, current_user, require_permission, require_role
from bot.settings import Settings
from bot.storage import create_engine, create_tables
from tests.support.console import PASSWORD, Client, Console, seed_users


async def _audit_actions(client: Client) -> list[tuple[str, str, str]]:
    entries = await client.app[keys.ACCOUNTS].audit.entries(limit=50)
    return [(e.username, e.action, e.target) for e in reversed(entries)]


def test_password_hash_round_trip_and_parameters_in_the_hash() -> None:
    encoded = passwords.hash_password("长城长城-password")
    assert encoded.startswith("scrypt$")
    assert passwords.verify_password("长城长城-password", encoded)
    assert not passwords.verify_password("长城长城-passwore", encoded)
    assert not passwords.verify_password("x", "not-a-hash")
    assert encoded != passwords.hash_password("长城长城-password")  # salted


def test_weak_passwords_are_refused() -> None:
    with pytest.raises(passwords.WeakPassword):
        passwords.check_strength("short")
    with pytest.raises(passwords.WeakPassword):
        passwords.check_strength("aaaaaaaaaaaa")
    passwords.check_strength("correct-horse-42")


async def test_form_login_sets_a_strict_http_only_cookie_and_goes_home(console: Console) -> None:
    client = console.client
    page = await client.get("/login")
    assert page.status == 200
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    html = await page.text()
    token = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert token is not None and "登录" in html
    response = await client.post(
        "/login",
        data={"username": "super1", "password": PASSWORD, "_csrf": token.group(1)},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == "/console/"
    cookie = response.cookies["hotline_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert not cookie["secure"]
    me = await client.get("/api/v1/auth/session")
    assert (await me.json())["user"]["username"] == "super1"


async def test_form_login_without_the_login_csrf_token_is_refused(console: Console) -> None:
    response = await console.client.post(
        "/login", data={"username": "super1", "password": PASSWORD}, allow_redirects=False
    )
    assert response.status == 403
    assert "hotline_session" not in response.cookies


async def test_next_parameter_cannot_redirect_off_site(console: Console) -> None:
    client = console.client
    for target, expected in (
        ("//evil.example/x", "/console/"),
        ("/console/x?y=1", "/console/x?y=1"),
    ):
        client.session.cookie_jar.clear()
        html = await (await client.get("/login")).text()
        token = re.search(r'name="_csrf" value="([^"]+)"', html)
        assert token is not None
        response = await client.post(
            "/login",
            data={
                "username": "super1",
                "password": PASSWORD,
                "_csrf": token.group(1),
                "next": target,
            },
            allow_redirects=False,
        )
        assert response.headers["Location"] == expected


async def test_wrong_password_is_refused_and_audited(console: Console) -> None:
    response = await console.client.post(
        "/api/v1/auth/login", json={"username": "super1", "password": "wrong-password-1"}
    )
    assert response.status == 401
    assert (await response.json())["message"].startswith("用户名或密码不正确。")
    assert ("", "login_failed", "super1") in await _audit_actions(console.client)


async def test_repeated_failures_lock_the_account(console: Console) -> None:
    for _ in range(MAX_FAILED_LOGINS):
        await console.client.post(
            "/api/v1/auth/login", json={"username": "agent1", "password": "wrong-password-1"}
        )
    locked = await console.client.post(
        "/api/v1/auth/login", json={"username": "agent1", "password": PASSWORD}
    )
    assert locked.status == 401  # with the same answer as a wrong password (test_login_limits)
    assert (await locked.json())["error"] == "login_failed"


async def test_unsafe_requests_need_the_session_csrf_token(console: Console) -> None:
    csrf = await console.login("super1")
    refused = await console.client.post("/api/v1/auth/logout")
    assert refused.status == 403
    assert (await refused.json())["error"] == "csrf_failed"
    wrong = await console.client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status == 403
    ok = await console.client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert ok.status == 200
    after = await console.client.get("/api/v1/auth/session")
    assert after.status == 401
    actions = await _audit_actions(console.client)
    assert ("super1", "login", "super1") in actions
    assert ("super1", "logout", "super1") in actions


async def test_cross_origin_unsafe_request_is_refused_even_with_the_token(console: Console) -> None:
    csrf = await console.login("super1")
    response = await console.client.post(
        "/api/v1/auth/logout",
        headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"},
    )
    assert response.status == 403
    assert (await response.json())["error"] == "cross_origin"


async def test_login_replaces_the_previous_session(console: Console) -> None:
    await console.login("super1")
    first = console.client.session.cookie_jar.filter_cookies(console.client.make_url("/"))
    old_token = first["hotline_session"].value
    await console.login("super2")
    assert await console.client.app[keys.ACCOUNTS].sessions.get(old_token) is None


async def test_disabled_user_loses_the_session_at_once(console: Console) -> None:
    await console.login("agent1")
    assert (await console.client.get("/api/v1/auth/session")).status == 200
    await console.client.app[keys.ACCOUNTS].users.set_active("agent1", False)
    assert (await console.client.get("/api/v1/auth/session")).status == 401


@pytest.fixture
async def guarded(aiohttp_client, console_settings: Settings) -> Console:  # type: ignore[no-untyped-def]
    """An app with two extra handlers guarded the way console handlers are."""

    @require_role(Role.SUPERVISOR, Role.ADMIN)
    async def review(request: web.Request) -> web.StreamResponse:
        await audit(request, "test.view", "c-1", {"k": 1})
        return web.json_response({"user": current_user(request).username})

    @require_permission(Permission.UNMASK_PERSONAL_DATA)
    async def unmask(request: web.Request) -> web.StreamResponse:
        return web.json_response({"ok": True})

    app = create_app(console_settings)
    app.router.add_get("/console/test-review", review)
    app.router.add_get("/api/v1/test-unmask", unmask)
    client = await aiohttp_client(app)
    await seed_users(client)
    return Console(client)


async def test_require_role_redirects_browsers_and_answers_apis_with_401(guarded: Console) -> None:
    page = await guarded.client.get(
        "/console/test-review?x=1", headers={"Accept": "text/html"}, allow_redirects=False
    )
    assert page.status == 303
    assert page.headers["Location"] == "/login?next=/console/test-review%3Fx%3D1"
    api = await guarded.client.get("/api/v1/test-unmask")
    assert api.status == 401


async def test_roles_and_permissions_are_enforced(guarded: Console) -> None:
    client = guarded.client
    await guarded.login("agent1")
    assert (await client.get("/console/test-review")).status == 403
    await guarded.login("super1")
    response = await client.get("/console/test-review")
    assert (await response.json()) == {"user": "super1"}
    assert (await client.get("/api/v1/test-unmask")).status == 403
    await guarded.login("super2")  # supervisor with the extra permission
    assert (await client.get("/api/v1/test-unmask")).status == 200
    await guarded.login("admin1")
    assert (await client.get("/api/v1/test-unmask")).status == 200
    entries = await client.app[keys.ACCOUNTS].audit.entries(action="test.view")
    assert [(e.username, e.target, e.detail) for e in entries] == [("super1", "c-1", {"k": 1})]


async def test_https_public_url_makes_the_cookie_secure_and_host_only(
    aiohttp_client, console_settings: Settings
) -> None:
    client = await aiohttp_client(
        create_app(console_settings.with_overrides(public_url="https://12345.example.gov.cn"))
    )
    await seed_users(client)
    response = await client.post(
        "/api/v1/auth/login", json={"username": "super1", "password": PASSWORD}
    )
    assert response.status == 200
    cookie = response.cookies["__Host-hotline_session"]
    assert cookie["secure"] is True and cookie["httponly"] is True and cookie["path"] == "/"


async def test_bootstrap_admin_from_the_environment(
    aiohttp_client, console_settings: Settings
) -> None:
    client = await aiohttp_client(
        create_app(console_settings.with_overrides(admin_password="bootstrap-pass-9"))
    )
    user = await client.app[keys.ACCOUNTS].users.get_by_username("admin")
    assert user is not None and user.role is Role.ADMIN
    assert user.can(Permission.UNMASK_PERSONAL_DATA)
    response = await client.post(
        "/api/v1/auth/login", json={"username": "admin", "password": "bootstrap-pass-9"}
    )
    assert response.status == 200


async def _store_round_trip(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        await create_tables(engine)
        users = UserStore(engine)
        user = await users.create("李质检", PASSWORD, Role.SUPERVISOR)
        assert (await users.authenticate("李质检", PASSWORD)).user == user
        assert (await users.authenticate("李质检", "wrong-password-1")).user is None
        sessions = SqlSessionStore(
            engine, SessionPolicy(idle=timedelta(minutes=5), lifetime=timedelta(hours=1))
        )
        token, _ = await sessions.create(user.id, "127.0.0.1")
        assert (await sessions.get(token)) is not None
        await sessions.delete_for_user(user.id)
        assert await sessions.get(token) is None
        log = AuditLog(engine)
        await log.record("export.csv", "conversations", user_id=user.id, username="李质检")
        assert [e.action for e in await log.entries() if e.username == "李质检"] == ["export.csv"]
    finally:
        await engine.dispose()


async def test_accounts_on_sqlite(settings: Settings) -> None:
    await _store_round_trip(settings)


@pytest.mark.postgres
async def test_accounts_on_postgresql(settings: Settings, postgres_url: str) -> None:
    await _store_round_trip(settings.with_overrides(database_url=postgres_url))


async def test_idle_sessions_expire(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        await create_tables(engine)
        store = SqlSessionStore(
            engine, SessionPolicy(idle=timedelta(seconds=-1), lifetime=timedelta(hours=1))
        )
        token, _ = await store.create(1)
        assert await store.get(token) is None
    finally:
        await engine.dispose()


@pytest.mark.redis
async def test_redis_sessions_are_shared_and_end_per_user(redis_client: Redis) -> None:
    policy = SessionPolicy(idle=timedelta(minutes=5), lifetime=timedelta(hours=1))
    prefix = f"test-session-{id(redis_client)}:"
    first = RedisSessionStore(redis_client, policy, prefix=prefix)
    second = RedisSessionStore(redis_client, policy, prefix=prefix)
    token, session = await first.create(7, "10.0.0.1")
    seen = await second.get(token)
    assert seen is not None and seen.csrf_token == session.csrf_token and seen.user_id == 7
    assert await redis_client.ttl(f"{prefix}{session.id}") > 0
    await second.delete_for_user(7)
    assert await first.get(token) is None
    assert [k async for k in redis_client.scan_iter(f"{prefix}*")] == []


def test_cli_creates_users_with_the_password_from_env_or_stdin(
    monkeypatch: pytest.MonkeyPatch, tmp_path, capsys
) -> None:
    import asyncio
    import io

    from bot.__main__ import main

    monkeypatch.setenv("HOTLINE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("HOTLINE_USER_PASSWORD", "env-password-77")
    assert main(["users", "add", "wang", "--role", "supervisor"]) == 0
    monkeypatch.delenv("HOTLINE_USER_PASSWORD")
    monkeypatch.setattr("sys.stdin", io.StringIO("stdin-password-88\n"))
    assert (
        main(["users", "add", "zhao", "--role", "agent", "--permission", "unmask_personal_data"])
        == 0
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "add", "weak", "--role", "agent"]) == 1
    with pytest.raises(SystemExit):
        main(["users", "add", "x", "--role", "agent", "--password", "in-argv-1234"])
    assert main(["users", "disable", "zhao"]) == 0
    capsys.readouterr()
    assert main(["users", "list"]) == 0
    listing = capsys.readouterr().out
    assert "wang\tsupervisor\t启用" in listing
    assert "zhao\tagent\t停用\tunmask_personal_data" in listing

    async def check() -> None:
        settings = Settings().with_overrides(var_dir=tmp_path / "var")
        engine = create_engine(settings)
        try:
            users = UserStore(engine)
            assert (await users.authenticate("wang", "env-password-77")).user is not None
            assert (await users.authenticate("zhao", "stdin-password-88")).user is None  # disabled
        finally:
            await engine.dispose()

    asyncio.run(check())


async def test_cross_site_websocket_upgrade_is_refused(guarded: Console) -> None:
    """A page on another site cannot open a console WebSocket with the agent's cookie."""
    await guarded.login("super1")
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Origin": "https://evil.example"}
    response = await guarded.client.get("/console/test-review", headers=headers)
    assert response.status == 403
    same = {**headers, "Origin": str(guarded.client.make_url("/")).rstrip("/")}
    assert (await guarded.client.get("/console/test-review", headers=same)).status == 200
