"""``python -m bot users …``: manage console accounts from the server's shell.

Passwords are never taken from the command line (argv is visible to every user of the
machine in ``ps`` and lands in shell history): they come from ``HOTLINE_USER_PASSWORD``
or from standard input (prompted without echo on a terminal).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from bot.accounts.passwords import WeakPassword
from bot.accounts.roles import Permission, Role
from bot.accounts.sessions import RedisSessionStore, SessionPolicy, SessionStore, SqlSessionStore
from bot.accounts.store import UnknownUser, UserExists, UserStore
from bot.settings import Settings
from bot.storage import create_engine, create_tables

PASSWORD_ENV = "HOTLINE_USER_PASSWORD"


def register_user_commands(commands: Any) -> None:
    users = commands.add_parser("users", help="manage console users (agents, supervisors)")
    sub = users.add_subparsers(dest="users_command", required=True)

    add = sub.add_parser("add", help=f"create a user; password from ${PASSWORD_ENV} or stdin")
    add.add_argument("name")
    add.add_argument("--role", choices=[r.value for r in Role], required=True)
    add.add_argument("--display-name")
    add.add_argument(
        "--permission",
        action="append",
        default=[],
        choices=[p.value for p in Permission],
        help="extra permission beyond the role's (repeatable)",
    )
    add.set_defaults(handler=_add)

    passwd = sub.add_parser("passwd", help="set a new password and end the user's sessions")
    passwd.add_argument("name")
    passwd.set_defaults(handler=_passwd)

    role = sub.add_parser("role", help="change a user's role and extra permissions")
    role.add_argument("name")
    role.add_argument("--role", choices=[r.value for r in Role], required=True)
    role.add_argument(
        "--permission", action="append", default=[], choices=[p.value for p in Permission]
    )
    role.set_defaults(handler=_role)

    for name, active in (("disable", False), ("enable", True)):
        command = sub.add_parser(name, help=f"{name} a user (disabling ends their sessions)")
        command.add_argument("name")
        command.set_defaults(handler=_set_active(active))

    listing = sub.add_parser("list", help="list users")
    listing.set_defaults(handler=_list)


def read_password(prompt: str = "密码: ") -> str:
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("再次输入密码: ") != first:
            raise SystemExit("两次输入的密码不一致。")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _run(work: Callable[[UserStore, SessionStore], Awaitable[None]]) -> int:
    async def main() -> None:
        settings = Settings.from_env()
        engine = create_engine(settings)
        redis = None
        try:
            await create_tables(engine)
            policy = SessionPolicy(
                idle=timedelta(minutes=settings.session_idle_minutes),
                lifetime=timedelta(hours=settings.session_max_hours),
            )
            sessions: SessionStore
            if settings.redis_url:
                from bot.redis_client import open_redis

                redis = open_redis(settings.redis_url)
                sessions = RedisSessionStore(redis, policy)
            else:
                sessions = SqlSessionStore(engine, policy)
            await work(UserStore(engine), sessions)
        finally:
            if redis is not None:
                await redis.aclose()
            await engine.dispose()

    try:
        asyncio.run(main())
    except (UserExists, UnknownUser, WeakPassword, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _add(args: argparse.Namespace) -> int:
    password = read_password()

    async def work(users: UserStore, sessions: SessionStore) -> None:
        user = await users.create(
            args.name,
            password,
            Role(args.role),
            display_name=args.display_name,
            extra_permissions=frozenset(Permission(p) for p in args.permission),
        )
        print(f"已创建用户 {user.username}（{user.role.label}）。")

    return _run(work)


def _passwd(args: argparse.Namespace) -> int:
    password = read_password("新密码: ")

    async def work(users: UserStore, sessions: SessionStore) -> None:
        await users.set_password(args.name, password)
        user = await users.get_by_username(args.name)
        assert user is not None
        await sessions.delete_for_user(user.id)
        print(f"已为 {user.username} 设置新密码，原有登录已全部失效。")

    return _run(work)


def _role(args: argparse.Namespace) -> int:
    async def work(users: UserStore, sessions: SessionStore) -> None:
        await users.set_role(args.name, Role(args.role))
        await users.set_permissions(args.name, frozenset(Permission(p) for p in args.permission))
        print(f"已更新 {args.name} 的角色和权限。")

    return _run(work)


def _set_active(active: bool) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        async def work(users: UserStore, sessions: SessionStore) -> None:
            await users.set_active(args.name, active)
            user = await users.get_by_username(args.name)
            if user is not None and not active:
                await sessions.delete_for_user(user.id)
            print(f"已{'启用' if active else '停用'}用户 {args.name}。")

        return _run(work)

    return handler


def _list(args: argparse.Namespace) -> int:
    async def work(users: UserStore, sessions: SessionStore) -> None:
        for user in await users.list_users():
            extra = ",".join(sorted(p.value for p in user.extra_permissions)) or "-"
            state = "启用" if user.active else "停用"
            print(f"{user.username}\t{user.role.value}\t{state}\t{extra}\t{user.display_name}")

    return _run(work)
