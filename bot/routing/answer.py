"""What a citizen reads about routing: which unit handles the matter, in one plain sentence.

Citizens see the unit, never the classifier's reasoning, cue words, keyword lists or
confidences: those are for agents (``Classification.reason``, ``similar_cases``), and shown
to a citizen they read as bureaucratic noise or invite gaming the wording. When the
classification is unsure the assistant asks for details instead of naming a unit it is not
sure of: a wrong department sends the citizen on a detour.
"""

from __future__ import annotations

from bot.routing.classifier import Classification
from bot.safety import emergency_reply


def citizen_sentence(result: Classification) -> str | None:
    """ "这类事项一般由…负责办理。", or None when the unit is unknown or too unsure to say."""
    unit = result.department
    if unit is None or result.department_unsure:
        return None
    if result.needs_place:
        return f"这类事项一般由事发地所在的区县政府或街道属地办理，{unit.short_name}负责业务指导。"
    return f"这类事项一般由{unit.name}负责办理。"


def department_answer(result: Classification) -> str | None:
    """The answer text, or None when the message does not say enough to route it."""
    if result.emergency is not None:
        return emergency_reply(result.emergency)
    if result.out_of_scope is not None:
        return f"这类事项不属于12345热线的受理范围。{result.out_of_scope.route}"
    sentence = citizen_sentence(result)
    if sentence is None or result.department is None:
        return None
    lines = [sentence]
    others = [c.name for c in result.department_alternatives if c.id != result.department.id][:2]
    if others and result.co_handlers:
        lines.append(f"如涉及其他情况，也可能由{'、'.join(others)}办理。")
    lines.append("需要的话，您可以直接把情况告诉我，我帮您登记工单转交承办单位。")
    return "\n".join(lines)
