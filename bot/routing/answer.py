"""The citizen-facing answer to "这事归哪个部门管", built from a classification.

Below a confidence floor the assistant asks for details rather than name a department it
is not sure of: a wrong department sends the citizen on a detour.
"""

from __future__ import annotations

from bot.routing.classifier import Classification
from bot.safety import emergency_reply

CONFIDENCE_FLOOR = 0.35


def department_answer(result: Classification) -> str | None:
    """The answer text, or None when the message does not say enough to route it."""
    if result.emergency is not None:
        return emergency_reply(result.emergency)
    if result.out_of_scope is not None:
        return f"这类事项不属于12345热线的受理范围。{result.out_of_scope.route}"
    if result.department is None or result.department_confidence < CONFIDENCE_FLOOR:
        return None
    lines = [f"这类事项一般由{result.department.name}负责办理。", result.reason]
    others = [c.name for c in result.department_alternatives if c.id != result.department.id][:2]
    if others:
        lines.append(f"如涉及其他情况，也可能由{'、'.join(others)}办理。")
    lines.append("需要的话，您可以直接把情况告诉我，我帮您登记工单转交承办单位。")
    return "\n".join(lines)
