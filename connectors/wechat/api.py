"""The client for WeChat's HTTP API: access_token, customer-service messages, the menu.

The access_token lives two hours and every fetch of a new one starts the end of the old
one, so it is fetched in exactly one place (:class:`AccessTokens`) and cached: in process
by default, in Redis behind a lock when the gateway runs as several replicas, so they all
share one token instead of invalidating each other's. When WeChat nevertheless rejects a
token (errcode 40001, 40014 or 42001) the call drops that token — only if it is still the
cached one, since another replica may already have replaced it — and is retried once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import aiohttp
from redis.asyncio import Redis

from bot.wechat.ports import WeChatApiError

__all__ = ["AccessTokens", "WeChatApi", "WeChatApiError"]

logger = logging.getLogger(__name__)

TOKEN_REJECTED = frozenset({40001, 40014, 42001})
# Refresh a little before WeChat's expiry, so a token is never used in its last minutes.
_EXPIRY_MARGIN_S = 300
_MIN_TTL_S = 60


class TokenCache(Protocol):
    async def read(self) -> str | None: ...

    async def write(self, token: str, ttl_s: int) -> None: ...

    async def discard(self, token: str) -> None:
        """Forgets ``token`` if it is still the cached one."""

    def lock(self) -> AbstractAsyncContextManager[Any]: ...


class MemoryTokenCache:
    """Enough for a single gateway process."""

    def __init__(self) -> None:
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def read(self) -> str | None:
        return self._token if time.monotonic() < self._expires_at else None

    async def write(self, token: str, ttl_s: int) -> None:
        self._token = token
        self._expires_at = time.monotonic() + ttl_s

    async def discard(self, token: str) -> None:
        if self._token == token:
            self._token = None

    def lock(self) -> AbstractAsyncContextManager[Any]:
        return self._lock


_DISCARD_IF_CURRENT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisTokenCache:
    """One token for every replica; the lock makes sure only one of them fetches it."""

    def __init__(self, redis: Redis, key: str) -> None:
        self.redis = redis
        self.key = key

    async def read(self) -> str | None:
        value = await self.redis.get(self.key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def write(self, token: str, ttl_s: int) -> None:
        await self.redis.set(self.key, token, ex=ttl_s)

    async def discard(self, token: str) -> None:
        await self.redis.eval(_DISCARD_IF_CURRENT, 1, self.key, token)  # type: ignore[misc]

    def lock(self) -> AbstractAsyncContextManager[Any]:
        return self.redis.lock(f"{self.key}:lock", timeout=30, blocking_timeout=30)


def shared_token_cache(redis: Redis, app_id: str) -> RedisTokenCache:
    """The cache every process of one account uses: gateway replicas and commands alike."""
    return RedisTokenCache(redis, f"wechat:{app_id or 'default'}:access_token")


class AccessTokens:
    """The one place where an access_token is fetched from WeChat."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        app_id: str,
        app_secret: str,
        cache: TokenCache,
        timeout_s: float = 10.0,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self.cache = cache
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def current(self) -> str:
        token = await self.cache.read()
        if token:
            return token
        async with self.cache.lock():
            token = await self.cache.read()
            if token:
                return token
            token, ttl_s = await self._fetch()
            await self.cache.write(token, ttl_s)
            return token

    async def replace(self, rejected: str) -> str:
        """A token WeChat refused: forget it (unless already replaced) and get a valid one."""
        await self.cache.discard(rejected)
        return await self.current()

    async def _fetch(self) -> tuple[str, int]:
        params = {
            "grant_type": "client_credential",
            "appid": self.app_id,
            "secret": self.app_secret,
        }
        data = await _request(
            self.session.get(self.base_url + "/cgi-bin/token", params=params, timeout=self.timeout)
        )
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise WeChatApiError(_errcode(data), str(data.get("errmsg", "no access_token")))
        expires_in = data.get("expires_in")
        lifetime = int(expires_in) if isinstance(expires_in, int | float) else 7200
        logger.info("wechat access_token fetched", extra={"event": "wechat_token"})
        return token, max(_MIN_TTL_S, lifetime - _EXPIRY_MARGIN_S)


class WeChatApi:
    def __init__(
        self, session: aiohttp.ClientSession, tokens: AccessTokens, timeout_s: float = 10.0
    ) -> None:
        self.session = session
        self.tokens = tokens
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def send_text(self, openid: str, content: str) -> None:
        """A customer-service text; WeChat allows it within 48 h of the citizen's last message."""
        await self.call(
            "/cgi-bin/message/custom/send",
            {"touser": openid, "msgtype": "text", "text": {"content": content}},
        )

    async def create_menu(self, menu: dict[str, Any]) -> None:
        await self.call("/cgi-bin/menu/create", menu)

    async def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        token = await self.tokens.current()
        data = await self._post(path, token, body)
        if _errcode(data) in TOKEN_REJECTED:
            logger.info("wechat rejected the access_token; refreshing once")
            token = await self.tokens.replace(token)
            data = await self._post(path, token, body)
        errcode = _errcode(data)
        if errcode:
            raise WeChatApiError(errcode, str(data.get("errmsg", "")))
        return data

    async def _post(self, path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        return await _request(
            self.session.post(
                self.tokens.base_url + path,
                params={"access_token": token},
                data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                headers={"Content-Type": "application/json; charset=utf-8"},
                timeout=self.timeout,
            )
        )


def _errcode(data: dict[str, Any]) -> int:
    try:
        return int(data.get("errcode") or 0)
    except (TypeError, ValueError):
        return -1


async def _request(
    pending: AbstractAsyncContextManager[aiohttp.ClientResponse],
) -> dict[str, Any]:
    """Runs one request; WeChat answers JSON (often labelled text/plain) even on errors."""
    try:
        async with pending as response:
            if response.status != 200:
                raise WeChatApiError(None, f"HTTP {response.status}")
            data = await response.json(content_type=None)
    except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
        raise WeChatApiError(None, str(exc) or type(exc).__name__) from exc
    if not isinstance(data, dict):
        raise WeChatApiError(None, "unexpected response")
    return data
