"""The console users, stored with the project's other tables (SQLite or PostgreSQL).

Hashing runs in a worker thread: scrypt takes ~0.15 s of CPU and must not stall the
gateway's event loop. Repeated failed logins lock an account for a while, counted in
the database (atomically, see ``authenticate``) so that every gateway replica sees the
same count.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    String,
    Table,
    case,
    func,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.accounts.passwords import (
    check_strength,
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from bot.accounts.roles import Permission, Role, User
from bot.clock import as_utc, utcnow
from bot.storage import metadata

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)

users_table = Table(
    "console_user",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("extra_permissions", JSON, nullable=False, default=list),
    Column("password_hash", String(256), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("password_changed_at", DateTime(timezone=True), nullable=False),
)


class UserExists(ValueError):
    """A user with that name already exists."""


class UnknownUser(LookupError):
    """No user with that name."""


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    locked: bool = False


def _to_user(row: Any) -> User:
    known = {p.value for p in Permission}
    extra = frozenset(Permission(p) for p in row.extra_permissions or () if p in known)
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        extra_permissions=extra,
        active=bool(row.active),
    )


def normalise_username(username: str) -> str:
    name = username.strip().lower()
    if not name or len(name) > 64 or any(ch.isspace() for ch in name):
        raise ValueError("用户名应为 1 到 64 个字符，且不能包含空格。")
    return name


class UserStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(
        self,
        username: str,
        password: str,
        role: Role,
        display_name: str | None = None,
        extra_permissions: frozenset[Permission] = frozenset(),
    ) -> User:
        name = normalise_username(username)
        check_strength(password)
        hashed = await asyncio.to_thread(hash_password, password)
        now = utcnow()
        try:
            async with self.engine.begin() as conn:
                result = await conn.execute(
                    users_table.insert().values(
                        username=name,
                        display_name=display_name or name,
                        role=role.value,
                        extra_permissions=sorted(p.value for p in extra_permissions),
                        password_hash=hashed,
                        active=True,
                        failed_logins=0,
                        created_at=now,
                        password_changed_at=now,
                    )
                )
        except IntegrityError:
            raise UserExists(f"用户 {name} 已存在。") from None
        key = result.inserted_primary_key
        assert key is not None
        return User(int(key[0]), name, display_name or name, role, extra_permissions)

    async def get(self, user_id: int) -> User | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(users_table).where(users_table.c.id == user_id))
            ).first()
        return _to_user(row) if row is not None else None

    async def get_by_username(self, username: str) -> User | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(users_table).where(users_table.c.username == username.strip().lower())
                )
            ).first()
        return _to_user(row) if row is not None else None

    async def list_users(self) -> list[User]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(users_table).order_by(users_table.c.id))).all()
        return [_to_user(row) for row in rows]

    async def count(self) -> int:
        async with self.engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(users_table)) or 0)

    async def authenticate(self, username: str, password: str) -> LoginResult:
        """The user if the password is right and the account active and not locked.

        Each attempt claims one of the account's tries before its password is checked, in
        one conditional UPDATE, so parallel guesses cannot all read the same count: the
        attempt that claims the last try locks the account, and later ones are refused
        unchecked. A right password gives the tries back. Refused attempts still hash once,
        so the answer's timing does not tell a locked or unknown account from a wrong
        password.
        """
        try:
            name = normalise_username(username)
        except ValueError:
            name = ""
        row = await self._claim_try(name)
        if row is None:
            await asyncio.to_thread(verify_password, password, dummy_hash())
            return LoginResult(None, locked=await self.get_by_username(name) is not None)
        if not await asyncio.to_thread(verify_password, password, row.password_hash):
            return LoginResult(None, locked=row.locked_until is not None)
        values: dict[str, Any] = {"failed_logins": 0, "locked_until": None}
        if needs_rehash(row.password_hash):
            values["password_hash"] = await asyncio.to_thread(hash_password, password)
        async with self.engine.begin() as conn:
            await conn.execute(
                users_table.update().where(users_table.c.id == row.id).values(**values)
            )
        if not row.active:
            return LoginResult(None)
        return LoginResult(_to_user(row))

    async def _claim_try(self, name: str) -> Any:
        """The account's row after counting one more try; None if unknown or locked."""
        now = utcnow()
        column = users_table.c
        expired = column.locked_until <= now
        tries = case((expired, 1), else_=column.failed_logins + 1)
        async with self.engine.begin() as conn:
            result = await conn.execute(
                users_table.update()
                .where(column.username == name, or_(column.locked_until.is_(None), expired))
                .values(
                    failed_logins=tries,
                    locked_until=case((tries >= MAX_FAILED_LOGINS, now + LOCKOUT), else_=None),
                )
                .returning(*column)
            )
            return result.first()

    async def set_password(self, username: str, password: str) -> None:
        check_strength(password)
        hashed = await asyncio.to_thread(hash_password, password)
        await self._update(
            username,
            password_hash=hashed,
            password_changed_at=utcnow(),
            failed_logins=0,
            locked_until=None,
        )

    async def set_role(self, username: str, role: Role) -> None:
        await self._update(username, role=role.value)

    async def set_permissions(self, username: str, extra: frozenset[Permission]) -> None:
        await self._update(username, extra_permissions=sorted(p.value for p in extra))

    async def set_active(self, username: str, active: bool) -> None:
        await self._update(username, active=active)

    async def password_changed_at(self, user_id: int) -> datetime | None:
        async with self.engine.connect() as conn:
            value = await conn.scalar(
                select(users_table.c.password_changed_at).where(users_table.c.id == user_id)
            )
        return as_utc(value)

    async def ensure_admin(self, password: str, username: str = "admin") -> User | None:
        """Creates the bootstrap administrator once; an existing account is left alone."""
        if await self.get_by_username(username) is not None:
            return None
        try:
            return await self.create(username, password, Role.ADMIN, display_name="系统管理员")
        except UserExists:  # another replica created it at the same moment
            return None

    async def _update(self, username: str, **values: Any) -> None:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                users_table.update()
                .where(users_table.c.username == normalise_username(username))
                .values(**values)
            )
        if result.rowcount == 0:
            raise UnknownUser(f"用户 {username} 不存在。")
