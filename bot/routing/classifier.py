"""Classification of a citizen's request: type, handling unit, place, and why.

Order matters and follows 国办发〔2020〕53号: an emergency is sent to 110/119/120/122 and a
matter outside the hotline's remit is told its proper route *before* any department is
considered, so neither can end up as a work order. Everything else gets a request type, a
handling unit from the 派单目录 (or the district government for 属地 matters) and a reason an
agent can check at a glance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.routing.catalogue import Catalogue, Department
from bot.routing.departments import DepartmentRouter, DepartmentScore, RoutingWeights
from bot.routing.place import Place, PlaceFinder
from bot.routing.request_type import RequestType, classify_request_type
from bot.safety import Emergency, OutOfScope, detect_emergency, detect_out_of_scope

# An alternative this close to the lead unit is suggested as a co-handler (协办), as
# 国办函〔2025〕66号 asks for matters whose remit is not clear-cut.
_CO_HANDLER_SHARE = 0.5


@dataclass(frozen=True)
class DepartmentCandidate:
    id: str
    name: str
    short_name: str
    confidence: float
    matter: str | None
    territorial: bool
    reason: str

    @classmethod
    def of(cls, score: DepartmentScore) -> DepartmentCandidate:
        return cls(
            id=score.department.id,
            name=score.department.name,
            short_name=score.department.short_name,
            confidence=round(score.confidence, 4),
            matter=score.matter.name if score.matter else None,
            territorial=score.territorial,
            reason=score.reason(),
        )


@dataclass(frozen=True)
class HandlingUnit:
    """Where the work order goes: a catalogue department or, for 属地 matters, a district."""

    id: str
    name: str
    short_name: str
    territorial: bool


@dataclass(frozen=True)
class Classification:
    request_type: str
    type_confidence: float
    type_alternatives: tuple[tuple[str, float], ...]
    department: HandlingUnit | None
    department_confidence: float
    department_alternatives: tuple[DepartmentCandidate, ...]
    co_handlers: tuple[str, ...]
    domain: str | None
    place: Place | None
    needs_place: bool
    emergency: Emergency | None
    out_of_scope: OutOfScope | None
    reason: str

    @property
    def routed(self) -> bool:
        return self.department is not None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, as the evaluation CLI writes it and agents' tools read it."""
        place = self.place
        district = place.district if place else None
        return {
            "request_type": self.request_type,
            "type_confidence": round(self.type_confidence, 4),
            "type_alternatives": [
                {"type": kind, "confidence": round(share, 4)}
                for kind, share in self.type_alternatives
            ],
            "department": self.department.id if self.department else None,
            "department_name": self.department.name if self.department else None,
            "department_short_name": self.department.short_name if self.department else None,
            "territorial": self.department.territorial if self.department else False,
            "department_confidence": round(self.department_confidence, 4),
            "top3": [
                {
                    "department": candidate.id,
                    "name": candidate.short_name,
                    "confidence": candidate.confidence,
                    "matter": candidate.matter,
                    "reason": candidate.reason,
                }
                for candidate in self.department_alternatives
            ],
            "co_handlers": list(self.co_handlers),
            "domain": self.domain,
            "district": district.name if district else None,
            "adcode": district.adcode if district else None,
            "street": place.street if place else None,
            "place": (place.describe() or None) if place else None,
            "needs_place": self.needs_place,
            "emergency": self.emergency.number if self.emergency else None,
            "out_of_scope": self.out_of_scope.kind if self.out_of_scope else None,
            "reason": self.reason,
        }


class RequestClassifier:
    def __init__(self, catalogue: Catalogue, weights: RoutingWeights | None = None) -> None:
        self.catalogue = catalogue
        self._router = DepartmentRouter(catalogue, weights)
        self._places = PlaceFinder(catalogue)

    def classify(self, text: str) -> Classification:
        kind = classify_request_type(text)
        emergency = detect_emergency(text)
        if emergency is not None:
            return _unrouted(
                kind,
                emergency=emergency,
                reason=f"描述的是正在发生的紧急情况，应立即拨打{emergency.number}"
                f"（{emergency.service}），12345不派单。",
            )
        out_of_scope = detect_out_of_scope(text)
        if out_of_scope is not None:
            return _unrouted(
                kind,
                out_of_scope=out_of_scope,
                reason=f"不属于12345受理范围。{out_of_scope.route}",
            )
        ranked = self._router.rank(text)
        place = self._places.find(text)
        if not ranked:
            return _unrouted(
                kind,
                place=place,
                reason=f"{kind.reason()}；未匹配到派单目录中的事项，建议转人工分派。",
            )
        lead = ranked[0]
        top3 = tuple(DepartmentCandidate.of(score) for score in ranked[:3])
        unit, place_note, needs_place = self._handling_unit(lead, place)
        co_handlers = tuple(
            candidate.short_name
            for candidate in top3[1:]
            if candidate.confidence >= _CO_HANDLER_SHARE * lead.confidence
        )
        return Classification(
            request_type=kind.request_type,
            type_confidence=kind.confidence,
            type_alternatives=kind.alternatives,
            department=unit,
            department_confidence=lead.confidence,
            department_alternatives=top3,
            co_handlers=co_handlers,
            domain=lead.department.domain,
            place=place,
            needs_place=needs_place,
            emergency=None,
            out_of_scope=None,
            reason=f"{kind.reason()}；{lead.reason()}{place_note}。",
        )

    def _handling_unit(self, lead: DepartmentScore, place: Place) -> tuple[HandlingUnit, str, bool]:
        department = lead.department
        note = ""
        if not place.in_city and place.city:
            note = f"；诉求地点在{place.city}，不属{self.catalogue.city}管辖，请引导市民向当地反映"
        if not lead.territorial:
            return _unit(department), note, False
        district = place.district
        if district is None:
            return (
                _unit(department),
                note + "；该事项属地管理，需补充诉求地点（区县、街道）后派至属地政府",
                True,
            )
        unit = HandlingUnit(
            id=f"district:{district.adcode or district.name}",
            name=district.government,
            short_name=district.name,
            territorial=True,
        )
        supervisor = "" if department.territorial else f"，{department.short_name}负责业务指导"
        return (
            unit,
            f"；该事项属地管理，按诉求地点“{place.describe()}”派至{district.government}{supervisor}",
            False,
        )


def _unit(department: Department) -> HandlingUnit:
    return HandlingUnit(
        id=department.id,
        name=department.name,
        short_name=department.short_name,
        territorial=department.territorial,
    )


def _unrouted(
    kind: RequestType,
    *,
    reason: str,
    emergency: Emergency | None = None,
    out_of_scope: OutOfScope | None = None,
    place: Place | None = None,
) -> Classification:
    return Classification(
        request_type=kind.request_type,
        type_confidence=kind.confidence,
        type_alternatives=kind.alternatives,
        department=None,
        department_confidence=0.0,
        department_alternatives=(),
        co_handlers=(),
        domain=None,
        place=place,
        needs_place=False,
        emergency=emergency,
        out_of_scope=out_of_scope,
        reason=reason,
    )
