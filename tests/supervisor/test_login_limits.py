"""Login limits that hold against parallel guesses and many accounts tried from one
address, and refusals that never tell which accounts exist or are locked."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from bot.accounts import passwords
from bot.accounts.store import LOCKOUT, MAX_FAILED_LOGINS, users_table
from bot.gateway import keys
from bot.gateway.app import create_app
from bot.settings import Settings
from tests.support.console import PASSWORD, Client, Console, seed_users

GUESSES = 20


async def _login(client: Client, username: str, password: str, **headers: str) -> Any:
    response = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}, headers=headers
    )
    return response.status, await response.json()


def _hash_checks_meet(patch: pytest.MonkeyPatch, pool: ThreadPoolExecutor, parties: int) -> None:
    """Holds every password check until ``parties`` checks are running, so that all the
    parallel attempts have read the account before any of them has counted its failure:
    the interleaving of a busy server, made certain instead of likely."""
    barrier = threading.Barrier(parties, timeout=120)  # a guard against a hang, not a pace

    def check_together(password: str, encoded: str) -> bool:
        barrier.wait()
        return passwords.verify_password(password, encoded)

    async def to_thread(function: Callable[..., Any], *args: Any) -> Any:
        if function is passwords.verify_password:
            function = check_together
        return await asyncio.get_running_loop().run_in_executor(pool, function, *args)

    patch.setattr("bot.accounts.store.asyncio", SimpleNamespace(to_thread=to_thread))


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
async def test_parallel_wrong_passwords_lock_the_account(
    aiohttp_client: Any, console_settings: Settings, request: pytest.FixtureRequest, database: str
) -> None:
    if database == "postgresql":
        url = request.getfixturevalue("fresh_postgres_url")
        console_settings = console_settings.with_overrides(database_url=url)
    client = await aiohttp_client(create_app(console_settings))
    await seed_users(client)
    with pytest.MonkeyPatch.context() as patch, ThreadPoolExecutor(GUESSES) as pool:
        _hash_checks_meet(patch, pool, GUESSES)
        answers = await asyncio.gather(
            *(_login(client, "super1", f"wrong-password-{i}") for i in range(GUESSES))
        )
    assert {status for status, _ in answers} == {401}
    assert len({body["message"] for _, body in answers}) == 1
    status, _ = await _login(client, "super1", PASSWORD)
    assert status == 401  # locked: even the right password waits for the lock to end
    async with client.app[keys.DB].connect() as conn:
        row = (
            await conn.execute(select(users_table).where(users_table.c.username == "super1"))
        ).one()
    assert row.failed_logins == MAX_FAILED_LOGINS and row.locked_until is not None


async def test_one_address_may_try_only_so_many_logins(
    aiohttp_client: Any, console_settings: Settings
) -> None:
    settings = console_settings.with_overrides(
        login_attempts_per_address=3, trusted_proxy_header="X-Forwarded-For"
    )
    client = await aiohttp_client(create_app(settings))
    await seed_users(client)
    sprayer = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7"}  # the proxy's entry is last
    for username in ("agent1", "super1", "admin1"):
        assert (await _login(client, username, "spring-2026", **sprayer))[0] == 401
    status, body = await _login(client, "super2", PASSWORD, **sprayer)
    assert status == 429 and body["error"] == "too_many_attempts"
    assert "频繁" in body["message"]
    other = {"X-Forwarded-For": "198.51.100.9, 203.0.113.8"}  # the forged first entry is ignored
    assert (await _login(client, "super2", PASSWORD, **other))[0] == 200


async def test_refusals_do_not_tell_which_accounts_exist_or_are_locked(console: Console) -> None:
    wrong = await _login(console.client, "super1", "wrong-password-1")
    unknown = await _login(console.client, "nobody", "wrong-password-1")
    for _ in range(MAX_FAILED_LOGINS):
        await _login(console.client, "agent1", "wrong-password-2")
    locked = await _login(console.client, "agent1", PASSWORD)
    assert wrong == unknown == locked
    status, body = wrong
    assert status == 401 and body["error"] == "login_failed"
    assert not any(ch.isdigit() for ch in body["message"])  # no attempts left, no minutes


async def test_a_lock_ends_after_its_time_and_counting_starts_again(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = console.client.app[keys.ACCOUNTS].users
    for _ in range(MAX_FAILED_LOGINS):
        await users.authenticate("agent1", "wrong-password-1")
    assert (await users.authenticate("agent1", PASSWORD)).locked
    later = datetime.now(UTC) + LOCKOUT + timedelta(seconds=1)
    monkeypatch.setattr("bot.accounts.store.utcnow", lambda: later)
    after = await users.authenticate("agent1", "wrong-password-2")
    assert after.user is None and not after.locked  # one new failure, not a new lock
    assert (await users.authenticate("agent1", PASSWORD)).user is not None
