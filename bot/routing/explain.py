"""Why the assistant proposes a type and a unit, in words an agent or supervisor can check.

Probabilities and label ids mean nothing at a hotline desk; what lets a person trust or
overrule a proposal is evidence they can judge themselves: the past cases most like this
one and where they went, the 派单目录 matter that fits, how sure the model is in plain
words, and a clear "不确定" when it should not be followed blindly. One view serves the
agent workspace (as JSON, drawn with ``textContent``) and the supervisor console (a Jinja
macro), so both always say the same thing. Snippets are masked: a past case may quote a
citizen's phone number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.privacy import mask_personal_data
from bot.routing.classifier import Classification
from bot.routing.model import SimilarCase

UNSURE = "不确定"


@dataclass(frozen=True)
class CaseView:
    snippet: str
    outcome: str  # where it went and what it was, e.g. "城管局 · 投诉/求助"
    closeness: str


@dataclass(frozen=True)
class Explanation:
    rows: tuple[tuple[str, str], ...]  # (label, text), in reading order
    unsure: str | None  # the warning shown when the proposal should not be followed as is
    cases: tuple[CaseView, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": [{"label": label, "text": text} for label, text in self.rows],
            "unsure": self.unsure,
            "cases": [
                {"snippet": c.snippet, "outcome": c.outcome, "closeness": c.closeness}
                for c in self.cases
            ],
        }


def certainty(confidence: float) -> str:
    """Bands an agent can act on; the thresholds follow the classifier's "unsure" levels."""
    if confidence >= 0.8:
        return "把握很大"
    if confidence >= 0.6:
        return "把握较大"
    if confidence >= 0.4:
        return "把握一般"
    return "把握较小"


def closeness(similarity: float) -> str:
    if similarity >= 0.6:
        return "非常相似"
    if similarity >= 0.3:
        return "比较相似"
    return "略有相似"


def explain(c: Classification) -> Explanation:
    rows: list[tuple[str, str]] = [
        (
            "诉求类型",
            f"{c.request_type}（{UNSURE if c.type_unsure else certainty(c.type_confidence)}）",
        )
    ]
    if c.emergency is not None:
        rows.append(
            (
                "处置方式",
                f"紧急情况，请引导市民立即拨打{c.emergency.number}（{c.emergency.service}）",
            )
        )
    elif c.out_of_scope is not None:
        rows.append(("处置方式", f"不属于12345受理范围。{c.out_of_scope.route}"))
    elif c.department is None:
        rows.append(("承办单位", "派单目录中没有对应事项，请人工选择承办单位"))
    else:
        sure = UNSURE if c.department_unsure else certainty(c.department_confidence)
        rows.append(("承办单位", f"{c.department.name}（{sure}）"))
        others = [a.short_name for a in c.department_alternatives if a.id != c.department.id]
        if c.co_handlers:
            rows.append(("建议协办", "、".join(c.co_handlers)))
        elif c.department_unsure and others:
            rows.append(("其他可能", "、".join(others)))
    if c.matter:
        rows.append(("目录事项", c.matter))
    if c.place is not None and c.place.describe():
        rows.append(("诉求地点", mask_personal_data(c.place.describe())))
    if c.needs_place:
        rows.append(("还需补充", "该事项由属地政府办理，请向市民确认所在区县和街道"))
    return Explanation(tuple(rows), _unsure_note(c), tuple(_case(case) for case in c.similar_cases))


def _unsure_note(c: Classification) -> str | None:
    if c.emergency is not None or c.out_of_scope is not None or not c.unsure:
        return None
    what = [
        name
        for name, flag in (("诉求类型", c.type_unsure), ("承办单位", c.department_unsure))
        if flag
    ]
    return (
        f"{UNSURE}：系统对{'和'.join(what)}把握不足，请结合市民的描述和下方相似案例核实后再选择。"
    )


def _case(case: SimilarCase) -> CaseView:
    outcome = " · ".join(part for part in (case.department_name, case.request_type) if part)
    return CaseView(
        snippet=mask_personal_data(case.snippet),
        outcome=outcome or "未记录承办单位",
        closeness=closeness(case.similarity),
    )
