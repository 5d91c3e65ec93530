"""Classification of a citizen's request: type, handling unit, place, and why.

Order matters and follows 国办发〔2020〕53号: an emergency is sent to 110/119/120/122 and a
matter outside the hotline's remit is told its proper route *before* any department is
considered, so neither can end up as a work order. Everything else gets a request type, a
handling unit from the 派单目录 (or the district government for 属地 matters) and a reason an
agent can check at a glance.

With a learned ``RoutingModel`` (the normal case, see ``bot.routing.store``) type and unit are
the model's calibrated probabilities fused with the cue rules and the catalogue's score; the
catalogue still supplies the matter, the duty and the 属地 decision that explain the unit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.routing.catalogue import Catalogue, Department
from bot.routing.departments import DepartmentRouter, DepartmentScore, RoutingWeights
from bot.routing.evaluation import LabelMapping
from bot.routing.history import LABEL_MAPPING, Labels
from bot.routing.model import Prediction, RoutingModel, SimilarCase
from bot.routing.place import Place, PlaceFinder
from bot.routing.request_type import RequestType, classify_request_type
from bot.safety import Emergency, OutOfScope, detect_emergency, detect_out_of_scope

# An alternative this close to the lead unit is suggested as a co-handler (协办), as
# 国办函〔2025〕66号 asks for matters whose remit is not clear-cut.
_CO_HANDLER_SHARE = 0.5
# How much of a fused confidence comes from the catalogue and the cue rules: the learned
# model knows history, the catalogue knows every unit and the cues know how citizens say
# what they want (weights from the cross-validation in ``compare``, not tuned further).
CATALOGUE_WEIGHT = 0.25
CUE_WEIGHT = 0.25
# Averaging calibrated models flattens the result; this exponent (1/temperature) was fitted on
# the out-of-fold department predictions (compare.sharpness). The type needs none (0.93).
DEPARTMENT_SHARPNESS = 1.8
# Without history the type is learned from our own few examples: the cues weigh as much.
COLD_START_CUE_WEIGHT = 0.5
# Below these calibrated confidences the outcome is "unsure": the dialogue asks a short
# question or an agent chooses, instead of acting on a guess.
TYPE_UNSURE_BELOW = 0.5
DEPARTMENT_UNSURE_BELOW = 0.4
# A past case at least this similar (cosine of character n-grams) is evidence for its unit.
GROUNDING_SIMILARITY = 0.3


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
    def of(cls, score: DepartmentScore, confidence: float | None = None) -> DepartmentCandidate:
        return cls(
            id=score.department.id,
            name=score.department.name,
            short_name=score.department.short_name,
            confidence=round(score.confidence if confidence is None else confidence, 4),
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
    type_unsure: bool = False
    department_unsure: bool = False
    matter: str | None = None  # the catalogue's typical matter that fits, if any
    similar_cases: tuple[SimilarCase, ...] = ()
    model_version: str | None = None  # None: the catalogue rules alone

    @property
    def routed(self) -> bool:
        return self.department is not None

    @property
    def unsure(self) -> bool:
        """Too unsure of type or unit to act on it: ask the citizen, or let an agent choose."""
        return self.type_unsure or self.department_unsure

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
            "unsure": self.unsure,
            "type_unsure": self.type_unsure,
            "department_unsure": self.department_unsure,
            "matter": self.matter,
            "similar_cases": [case.to_dict() for case in self.similar_cases],
            "model_version": self.model_version,
        }


@dataclass(frozen=True)
class _Typed:
    """The request type as the classification reports it, from the cues or the model."""

    request_type: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]
    reason: str


class RequestClassifier:
    """The catalogue rules alone, or with a learned ``model`` fused in (see ``compare``)."""

    def __init__(
        self,
        catalogue: Catalogue,
        weights: RoutingWeights | None = None,
        model: RoutingModel | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.model = model
        self._router = DepartmentRouter(catalogue, weights)
        self._places = PlaceFinder(catalogue)
        self._labels = (
            Labels(LabelMapping.load(LABEL_MAPPING), catalogue) if model is not None else None
        )

    def classify(self, text: str) -> Classification:
        cues = classify_request_type(text)
        prediction = self.model.predict(text) if self.model is not None else None
        kind = self._type(cues, prediction)
        version = self.model.version if self.model is not None else None
        emergency = detect_emergency(text)
        if emergency is not None:
            return _unrouted(
                kind,
                version,
                emergency=emergency,
                reason=f"描述的是正在发生的紧急情况，应立即拨打{emergency.number}"
                f"（{emergency.service}），12345不派单。",
            )
        out_of_scope = detect_out_of_scope(text)
        if out_of_scope is not None:
            return _unrouted(
                kind,
                version,
                out_of_scope=out_of_scope,
                reason=f"不属于12345受理范围。{out_of_scope.route}",
            )
        ranked = self._router.rank(text)
        place = self._places.find(text)
        learned = prediction.departments if prediction is not None else ()
        if not ranked and not learned:
            return _unrouted(
                kind,
                version,
                place=place,
                reason=f"{kind.reason}；未匹配到派单目录中的事项，建议转人工分派。",
            )
        fused = self._fuse_departments(ranked, learned)
        lead, confidence = fused[0]
        top3 = tuple(DepartmentCandidate.of(score, share) for score, share in fused[:3])
        unit, place_note, needs_place = self._handling_unit(lead, place)
        co_handlers = tuple(
            candidate.short_name
            for candidate in top3[1:]
            if candidate.confidence >= _CO_HANDLER_SHARE * confidence
        )
        cases = prediction.cases if prediction is not None else ()
        why = lead.reason()
        if learned:
            why = (
                f"历史诉求学习模型判断承办单位为“{lead.department.short_name}”"
                f"（置信度{confidence:.2f}）；"
                + (why if lead.score > 0 else "派单目录中无直接对应的典型事项")
            )
        return Classification(
            request_type=kind.request_type,
            type_confidence=kind.confidence,
            type_alternatives=kind.alternatives,
            department=unit,
            department_confidence=confidence,
            department_alternatives=top3,
            co_handlers=co_handlers,
            domain=lead.department.domain,
            place=place,
            needs_place=needs_place,
            emergency=None,
            out_of_scope=None,
            reason=f"{kind.reason}；{why}{place_note}。",
            type_unsure=kind.confidence < TYPE_UNSURE_BELOW,
            department_unsure=confidence < DEPARTMENT_UNSURE_BELOW or not _grounded(lead, cases),
            matter=lead.matter.name if lead.matter else None,
            similar_cases=self._named(cases),
            model_version=version,
        )

    def _type(self, cues: RequestType, prediction: Prediction | None) -> _Typed:
        """The learned type group, fused with the cues, and the cues' choice within the group."""
        if prediction is None or not prediction.type_groups or self._labels is None:
            return _Typed(cues.request_type, cues.confidence, cues.alternatives, cues.reason())
        labels = self._labels
        assert self.model is not None
        weight = CUE_WEIGHT if self.model.learned_types else COLD_START_CUE_WEIGHT
        groups = dict(prediction.type_groups)
        by_cues: dict[str, float] = {}
        for kind, share in cues.shares:
            group = labels.type_group(kind)
            if group is not None:
                by_cues[group] = by_cues.get(group, 0.0) + share
        fused = {
            group: (1 - weight) * groups.get(group, 0.0) + weight * by_cues.get(group, 0.0)
            for group in set(groups) | set(by_cues)
        }
        shares = dict(cues.shares)
        fine: list[tuple[str, float]] = []
        for group, probability in fused.items():
            members = [kind for kind in labels.members(group) if kind in shares] or [group]
            total = sum(shares.get(kind, 0.0) for kind in members) or 1.0
            fine.extend(
                (kind, probability * shares.get(kind, 1.0 / len(members)) / total)
                for kind in members
            )
        fine.sort(key=lambda item: item[1], reverse=True)
        best = fine[0][0]
        group = labels.type_group(best) or best
        confidence = fused.get(group, fine[0][1])
        reason = f"历史诉求学习模型判断为“{group}”类（置信度{confidence:.2f}）"
        if best != group:
            hint = "、".join(cues.cues[:4]) if cues.request_type == best else ""
            reason += f"，按提示语{f'“{hint}”' if hint else ''}细分为“{best}”"
        return _Typed(best, confidence, tuple(fine[:3]), reason)

    def _fuse_departments(
        self, ranked: list[DepartmentScore], learned: tuple[tuple[str, float], ...]
    ) -> list[tuple[DepartmentScore, float]]:
        """Catalogue and model confidences combined per unit, recalibrated, best first.

        As in ``compare``: the catalogue's confidence left unassigned is spread evenly over
        its units, and the weighted mean is sharpened by the exponent fitted there."""
        if not learned:
            return [(score, score.confidence) for score in ranked]
        by_catalogue = {score.department.id: score for score in ranked}
        spread = max(1.0 - sum(s.confidence for s in ranked), 0.0) / len(self.catalogue.departments)
        learned_share = dict(learned)
        raw: list[tuple[DepartmentScore, float]] = []
        for unit in set(learned_share) | set(by_catalogue):
            score = by_catalogue.get(unit) or self._no_evidence(unit)
            if score is None:
                continue
            share = (1 - CATALOGUE_WEIGHT) * learned_share.get(unit, 0.0)
            share += CATALOGUE_WEIGHT * (
                (score.confidence if unit in by_catalogue else 0.0) + spread
            )
            raw.append((score, share**DEPARTMENT_SHARPNESS))
        total = sum(share for _, share in raw) or 1.0
        fused = [(score, share / total) for score, share in raw]
        fused.sort(key=lambda item: item[1], reverse=True)
        return fused

    def _no_evidence(self, unit: str) -> DepartmentScore | None:
        """A unit only the model proposes: no matter or keyword of the catalogue matched."""
        try:
            department = self.catalogue.department(unit)
        except KeyError:
            return None  # a model trained with another catalogue: its unit no longer exists
        duty = department.duties.split("。")[0]
        return DepartmentScore(department, 0.0, 0.0, None, (), duty)

    def _named(self, cases: tuple[SimilarCase, ...]) -> tuple[SimilarCase, ...]:
        named = []
        for case in cases:
            try:
                name = (
                    self.catalogue.department(case.department).short_name
                    if case.department
                    else None
                )
            except KeyError:
                name = None
            named.append(replace(case, department_name=name))
        return tuple(named)

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


def _grounded(lead: DepartmentScore, cases: tuple[SimilarCase, ...]) -> bool:
    """Whether anything an agent could check backs the unit: a catalogue entry or a close past
    case of that unit. Probabilities alone are not enough: on a message unlike anything seen
    ("你好") a model still spreads its certainty over the few units it knows."""
    unit = lead.department.id
    return lead.score > 0 or any(
        case.department == unit and case.similarity >= GROUNDING_SIMILARITY for case in cases
    )


def _unit(department: Department) -> HandlingUnit:
    return HandlingUnit(
        id=department.id,
        name=department.name,
        short_name=department.short_name,
        territorial=department.territorial,
    )


def _unrouted(
    kind: _Typed,
    version: str | None,
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
        type_unsure=kind.confidence < TYPE_UNSURE_BELOW,
        department_unsure=emergency is None and out_of_scope is None,
        model_version=version,
    )
