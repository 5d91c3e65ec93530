"""Server-side login sessions: a random token in the browser, the state on the server.

Only a SHA-256 digest of the token is stored, so a copy of the session table (a backup,
a replica) cannot be replayed as cookies. Sessions end after an idle period and after an
absolute lifetime, and can be ended for one user everywhere (password change, disabling).
Each session carries its own CSRF token. SQL by default; Redis when ``REDIS_URL`` is set.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis
from sqlalchemy import Column, DateTime, Index, Integer, String, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import as_utc, utcnow
from bot.storage import metadata

TOUCH_EVERY = timedelta(seconds=60)

sessions_table = Table(
    "console_session",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256(token)
    Column("user_id", Integer, nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("ip", String(64), nullable=False, default=""),
    Index("ix_console_session_user", "user_id"),
)


@dataclass(frozen=True)
class Session:
    id: str
    user_id: int
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str = ""


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    lifetime: timedelta


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_session(user_id: int, ip: str, policy: SessionPolicy) -> tuple[str, Session]:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    return token, Session(
        id=token_digest(token),
        user_id=user_id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.lifetime,
        ip=ip[:64],
    )


def _alive(session: Session, policy: SessionPolicy, now: datetime) -> bool:
    return session.expires_at > now and session.last_seen_at + policy.idle > now


class SessionStore(Protocol):
    policy: SessionPolicy

    async def create(self, user_id: int, ip: str = "") -> tuple[str, Session]:
        """A new session; returns the token for the cookie and the session."""
        ...

    async def get(self, token: str) -> Session | None:
        """The live session for this token (its idle clock restarted), or None."""
        ...

    async def delete(self, token: str) -> None: ...

    async def delete_for_user(self, user_id: int) -> None: ...


class SqlSessionStore:
    def __init__(self, engine: AsyncEngine, policy: SessionPolicy) -> None:
        self.engine = engine
        self.policy = policy

    async def create(self, user_id: int, ip: str = "") -> tuple[str, Session]:
        token, session = _new_session(user_id, ip, self.policy)
        async with self.engine.begin() as conn:
            await conn.execute(
                sessions_table.insert().values(
                    id=session.id,
                    user_id=user_id,
                    csrf_token=session.csrf_token,
                    created_at=session.created_at,
                    last_seen_at=session.last_seen_at,
                    expires_at=session.expires_at,
                    ip=session.ip,
                )
            )
            # Expired sessions are swept on login, which is rare enough to be cheap.
            await conn.execute(
                sessions_table.delete().where(sessions_table.c.expires_at < utcnow())
            )
        return token, session

    async def get(self, token: str) -> Session | None:
        digest = token_digest(token)
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(sessions_table).where(sessions_table.c.id == digest))
            ).first()
        if row is None:
            return None
        session = Session(
            id=row.id,
            user_id=row.user_id,
            csrf_token=row.csrf_token,
            created_at=as_utc(row.created_at),
            last_seen_at=as_utc(row.last_seen_at),
            expires_at=as_utc(row.expires_at),
            ip=row.ip,
        )
        now = utcnow()
        if not _alive(session, self.policy, now):
            await self.delete(token)
            return None
        if now - session.last_seen_at >= TOUCH_EVERY:
            async with self.engine.begin() as conn:
                await conn.execute(
                    sessions_table.update()
                    .where(sessions_table.c.id == digest)
                    .values(last_seen_at=now)
                )
        return session

    async def delete(self, token: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                sessions_table.delete().where(sessions_table.c.id == token_digest(token))
            )

    async def delete_for_user(self, user_id: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(sessions_table.delete().where(sessions_table.c.user_id == user_id))


class RedisSessionStore:
    """Sessions shared by every gateway replica; Redis expires idle ones by itself."""

    def __init__(self, redis: Redis, policy: SessionPolicy, prefix: str = "hotline:session:"):
        self.redis = redis
        self.policy = policy
        self.prefix = prefix

    def _key(self, digest: str) -> str:
        return f"{self.prefix}{digest}"

    def _user_key(self, user_id: int) -> str:
        return f"{self.prefix}user:{user_id}"

    def _ttl(self) -> int:
        return max(1, int(self.policy.idle.total_seconds()))

    async def create(self, user_id: int, ip: str = "") -> tuple[str, Session]:
        token, session = _new_session(user_id, ip, self.policy)
        body = json.dumps(
            {
                "user_id": user_id,
                "csrf_token": session.csrf_token,
                "created_at": session.created_at.isoformat(),
                "expires_at": session.expires_at.isoformat(),
                "ip": session.ip,
            }
        )
        lifetime = max(1, int(self.policy.lifetime.total_seconds()))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(session.id), body, ex=self._ttl())
            pipe.sadd(self._user_key(user_id), session.id)
            pipe.expire(self._user_key(user_id), lifetime)
            await pipe.execute()
        return token, session

    async def get(self, token: str) -> Session | None:
        digest = token_digest(token)
        raw = await self.redis.get(self._key(digest))
        if raw is None:
            return None
        data = json.loads(raw)
        now = utcnow()
        session = Session(
            id=digest,
            user_id=int(data["user_id"]),
            csrf_token=str(data["csrf_token"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            last_seen_at=now,
            expires_at=datetime.fromisoformat(data["expires_at"]),
            ip=str(data.get("ip", "")),
        )
        if session.expires_at <= now:
            await self.delete(token)
            return None
        await self.redis.expire(self._key(digest), self._ttl())
        return session

    async def delete(self, token: str) -> None:
        await self.redis.delete(self._key(token_digest(token)))

    async def delete_for_user(self, user_id: int) -> None:
        digests = await self.redis.smembers(self._user_key(user_id))
        keys = [self._key(d.decode() if isinstance(d, bytes) else str(d)) for d in digests]
        await self.redis.delete(*keys, self._user_key(user_id))
