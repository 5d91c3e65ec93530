"""The review workflow: draft → review → published → withdrawn, with four eyes.

A record's ``state`` is the state of its newest version; the published version (if any)
stays in search while a newer draft is being edited and reviewed.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum


class State(StrEnum):
    DRAFT = "draft"
    REVIEW = "review"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    State.DRAFT: "草稿",
    State.REVIEW: "待审核",
    State.PUBLISHED: "已发布",
    State.WITHDRAWN: "已撤回",
}


class Action(StrEnum):
    """What a version or an event records; the label is what the history page shows."""

    CREATE = "create"
    EDIT = "edit"
    RESTORE = "restore"
    IMPORT = "import"
    SUBMIT = "submit"
    PUBLISH = "publish"
    REJECT = "reject"
    WITHDRAW = "withdraw"

    @property
    def label(self) -> str:
        return _ACTION_LABELS[self]


_ACTION_LABELS = {
    Action.CREATE: "新建",
    Action.EDIT: "修改",
    Action.RESTORE: "恢复旧版本",
    Action.IMPORT: "导入",
    Action.SUBMIT: "提交审核",
    Action.PUBLISH: "审核通过并发布",
    Action.REJECT: "退回修改",
    Action.WITHDRAW: "撤回",
}


class WorkflowError(ValueError):
    """A step the record's state or the person does not allow; the message is for them."""


class NotFound(LookupError):
    pass


def check_submit(state: State) -> None:
    if state is not State.DRAFT:
        raise WorkflowError(f"只有草稿可以提交审核，这条记录当前是“{state.label}”。")


def check_review(state: State, reviewer: str, authors: Collection[str]) -> None:
    """Publishing or rejecting: only a submitted record, never by one who wrote it."""
    if state is not State.REVIEW:
        raise WorkflowError(f"这条记录当前是“{state.label}”，不在待审核状态。")
    if reviewer in authors:
        raise WorkflowError("审核人不能是这条记录的编辑人，请由另一位审核人审核。")


def check_withdraw(live_version: int | None) -> None:
    if live_version is None:
        raise WorkflowError("这条记录目前没有发布中的版本，无需撤回。")
