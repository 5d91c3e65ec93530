"""Roles and permissions of the people who use the consoles.

A role grants a fixed set of permissions; an administrator may grant a user extra
permissions one by one (e.g. ``unmask_personal_data`` for a supervisor who handles
citizens' deletion requests) without giving them a stronger role.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    EDITOR = "editor"  # keeps knowledge points and standards current
    REVIEWER = "reviewer"  # approves, publishes and withdraws them

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.AGENT: "话务员",
    Role.SUPERVISOR: "班长/质检员",
    Role.ADMIN: "管理员",
    Role.EDITOR: "知识库编辑",
    Role.REVIEWER: "知识库审核人",
}


class Permission(StrEnum):
    HANDLE_CONVERSATIONS = "handle_conversations"  # take over chats and calls (agent console)
    REVIEW_CONVERSATIONS = "review_conversations"  # read, tag, correct the bot's conversations
    VIEW_METRICS = "view_metrics"
    EXPORT_DATA = "export_data"  # CSV and NLU training data exports
    UNMASK_PERSONAL_DATA = "unmask_personal_data"  # see full phone/ID numbers; always audited
    DELETE_CITIZEN_DATA = "delete_citizen_data"  # erase one citizen's data on request
    VIEW_AUDIT_LOG = "view_audit_log"
    MANAGE_USERS = "manage_users"
    EDIT_KNOWLEDGE = "edit_knowledge"  # draft and submit knowledge records, run import dry runs
    REVIEW_KNOWLEDGE = "review_knowledge"  # publish, reject, withdraw; confirm imports; flags


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.AGENT: frozenset({Permission.HANDLE_CONVERSATIONS}),
    Role.SUPERVISOR: frozenset(
        {
            Permission.HANDLE_CONVERSATIONS,
            Permission.REVIEW_CONVERSATIONS,
            Permission.VIEW_METRICS,
            Permission.EXPORT_DATA,
            Permission.EDIT_KNOWLEDGE,
            Permission.REVIEW_KNOWLEDGE,
        }
    ),
    # Administrators run the system, not the hotline: citizens are served by named people
    # on the duty roster, so an administrator who also takes chats gets HANDLE_CONVERSATIONS
    # granted to their own account (an audited change) or uses an agent account.
    Role.ADMIN: frozenset(Permission) - {Permission.HANDLE_CONVERSATIONS},
    Role.EDITOR: frozenset({Permission.EDIT_KNOWLEDGE}),
    Role.REVIEWER: frozenset({Permission.EDIT_KNOWLEDGE, Permission.REVIEW_KNOWLEDGE}),
}


@dataclass(frozen=True)
class User:
    """A console user as the gateway sees them; never carries the password hash."""

    id: int
    username: str
    display_name: str
    role: Role
    extra_permissions: frozenset[Permission] = frozenset()
    active: bool = True

    @property
    def permissions(self) -> frozenset[Permission]:
        return ROLE_PERMISSIONS[self.role] | self.extra_permissions

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role.value,
            "permissions": sorted(p.value for p in self.permissions),
        }
