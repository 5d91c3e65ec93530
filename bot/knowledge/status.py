"""Status rules: what is in force today, and what replaced what.

Catalogues go stale: an entry marked 即将实施 whose implementation date has passed is in
force now, and one marked 现行 with a withdrawal date in the past is not. So the status
shown to a citizen is computed for the day of the question, and an obsolete standard is
always shown with the standard that replaced it when the store knows one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from bot.knowledge.models import KnowledgePoint, Standard, Status
from bot.knowledge.numbers import parse_standard_number

KP_VALID = "有效"
KP_EXPIRED = "已失效"
KP_NOT_YET = "尚未生效"


def effective_status(standard: Standard, today: date) -> Status:
    status = standard.status
    if status is Status.UPCOMING and standard.implemented and standard.implemented <= today:
        return Status.CURRENT
    in_force = status in (Status.CURRENT, Status.UPCOMING)
    if in_force and standard.withdrawn and standard.withdrawn <= today:
        return Status.REPLACED if standard.replaced_by else Status.WITHDRAWN
    return status


def knowledge_status(point: KnowledgePoint, today: date) -> str:
    if point.expires and point.expires < today:
        return KP_EXPIRED
    if point.effective and point.effective > today:
        return KP_NOT_YET
    return KP_VALID


def edition_year(standard: Standard) -> int:
    parsed = parse_standard_number(standard.number)
    return int(parsed.year) if parsed and parsed.year else 0


def in_force_status(
    standard: Standard, today: date, by_number: Callable[[str], Standard | None]
) -> Status:
    """``effective_status``, and a standard whose replacement is in force is replaced.

    GB 7718-2011 stays 现行 in the catalogue until someone edits it, but from the day
    GB 7718-2025 takes effect it must no longer be presented as current.
    """
    status = effective_status(standard, today)
    if status is Status.CURRENT:
        for number in standard.replaced_by:
            successor = by_number(number)
            if successor is not None and effective_status(successor, today) is Status.CURRENT:
                return Status.REPLACED
    return status


def current_replacements(
    standard: Standard,
    editions: Callable[[str], list[Standard]],
    by_number: Callable[[str], Standard | None],
    replaced_by_index: Callable[[str], list[Standard]],
    status: Callable[[Standard], Status],
) -> list[Standard]:
    """The standards in force that replace ``standard``, following chains of replacement.

    Sources, in order of authority: the entry's own replaced-by list, entries that declare
    they replace it, and a later edition of the same number that is in force (a revision
    keeps its number, so GB 19272-2024 supersedes GB 19272-2011).
    """
    seen = {standard.number}
    frontier = [standard]
    found: list[Standard] = []
    while frontier:
        current = frontier.pop(0)
        successors = [s for n in current.replaced_by if (s := by_number(n)) is not None]
        successors += replaced_by_index(current.number)
        if not successors:
            year = edition_year(current)
            successors = [
                s
                for s in editions(current.match_key)
                if edition_year(s) > year and status(s) is Status.CURRENT
            ]
        for successor in successors:
            if successor.number in seen:
                continue
            seen.add(successor.number)
            if status(successor) is Status.CURRENT:
                found.append(successor)
            else:
                frontier.append(successor)
    return found
