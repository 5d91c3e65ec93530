"""Console users (agents, supervisors, administrators): roles, passwords, sessions, audit.

Domain only; the HTTP side (login pages, cookies, CSRF, ``require_role``) is
``bot.gateway.auth``.
"""

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

__all__ = [
    "ROLE_PERMISSIONS",
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
