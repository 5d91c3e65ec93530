"""What agents and supervisors read about a proposal: plain Chinese, masked, and a clear
"不确定" when the proposal should not be followed as is."""

from __future__ import annotations

from bot.routing import Classification, HandlingUnit
from bot.routing.classifier import DepartmentCandidate
from bot.routing.explain import explain
from bot.routing.model import SimilarCase
from bot.safety import detect_emergency

CITY = HandlingUnit("urban_management", "济南市城市管理局", "城管局", territorial=False)


def _candidate(unit: str, short: str, confidence: float) -> DepartmentCandidate:
    return DepartmentCandidate(unit, short, short, confidence, None, False, "")


def _classified(**changes: object) -> Classification:
    values: dict[str, object] = {
        "request_type": "投诉",
        "type_confidence": 0.86,
        "type_alternatives": (("投诉", 0.86),),
        "department": CITY,
        "department_confidence": 0.65,
        "department_alternatives": (
            _candidate("urban_management", "城管局", 0.65),
            _candidate("housing_construction", "住建局", 0.2),
        ),
        "co_handlers": (),
        "domain": "城建",
        "place": None,
        "needs_place": False,
        "emergency": None,
        "out_of_scope": None,
        "reason": "",
        "matter": "占道经营",
        "similar_cases": (
            SimilarCase(
                "路口摊贩占道，我电话13812345678", "投诉/求助", "urban_management", 0.72, "城管局"
            ),
            SimilarCase("夜市噪音", None, None, 0.2),
        ),
        "model_version": "abc",
    }
    values.update(changes)
    return Classification(**values)  # type: ignore[arg-type]


def test_a_confident_proposal_with_its_evidence() -> None:
    shown = explain(_classified()).to_json()
    assert shown["rows"] == [
        {"label": "诉求类型", "text": "投诉（把握很大）"},
        {"label": "承办单位", "text": "济南市城市管理局（把握较大）"},
        {"label": "目录事项", "text": "占道经营"},
    ]
    assert shown["unsure"] is None
    first, second = shown["cases"]
    assert first == {
        "snippet": "路口摊贩占道，我电话138****5678",
        "outcome": "城管局 · 投诉/求助",
        "closeness": "非常相似",
    }
    assert second["outcome"] == "未记录承办单位" and second["closeness"] == "略有相似"


def test_an_unsure_proposal_says_so_and_names_the_alternatives() -> None:
    shown = explain(
        _classified(department_unsure=True, type_unsure=True, type_confidence=0.3)
    ).to_json()
    assert shown["rows"][0]["text"] == "投诉（不确定）"
    assert shown["rows"][1]["text"] == "济南市城市管理局（不确定）"
    assert {"label": "其他可能", "text": "住建局"} in shown["rows"]
    assert shown["unsure"].startswith("不确定：系统对诉求类型和承办单位把握不足")


def test_an_emergency_is_not_routed() -> None:
    emergency = detect_emergency("楼下着火了，火很大")
    assert emergency is not None
    shown = explain(
        _classified(department=None, emergency=emergency, department_unsure=False, matter=None)
    ).to_json()
    assert shown["rows"][1] == {
        "label": "处置方式",
        "text": f"紧急情况，请引导市民立即拨打{emergency.number}（{emergency.service}）",
    }
    assert shown["unsure"] is None
