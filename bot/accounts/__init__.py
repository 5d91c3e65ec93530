"""Console users (agents, supervisors, administrators): roles, passwords, sessions, audit.

Domain only; the HTTP side (login pages, cookies, CSRF, ``require_role``) is
``bot.gateway.auth``.
"""

from dataclasses import dataclass

from bot.accounts.audit import AuditEntry, AuditLog
from bot.accounts.roles import ROLE_PERMISSIONS, Permission, Role, User
from bot.accounts.sessions import (
    RedisSessionStore,
    Session,
    SessionPolicy,
    SessionStore,
    SqlSessionStore,
)
from bot.accounts.store import LoginResult, UnknownUser, UserExists, UserStore


@dataclass(frozen=True)
class Accounts:
    """What a console needs of accounts: who the users are, their sessions, the audit log."""

    users: UserStore
    sessions: SessionStore
    audit: AuditLog


__all__ = [
    "ROLE_PERMISSIONS",
    "Accounts",
    "AuditEntry",
    "AuditLog",
    "LoginResult",
    "Permission",
    "RedisSessionStore",
    "Role",
    "Session",
    "SessionPolicy",
    "SessionStore",
    "SqlSessionStore",
    "UnknownUser",
    "User",
    "UserExists",
    "UserStore",
]
