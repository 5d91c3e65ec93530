"""The outcome of a first turn is read from what the assistant did (tracker events and the
gateway's status), and the figures of make eval-dialogue are computed from those."""

from __future__ import annotations

from typing import Any

from bot.evaluation.dialogue import OUTCOMES, TurnRecord, outcome_of, sample_rows, summarise
from bot.routing.evaluation import LabelMapping
from bot.routing.history import LABEL_MAPPING


def turn(*after: dict[str, Any], intent: str = "complain") -> list[dict[str, Any]]:
    """An earlier turn (which must not count) and the latest one."""
    earlier = [
        {"event": "user", "parse_data": {"intent": {"name": "greet"}}},
        {"event": "slot", "name": "answered_entry", "value": "kb-1"},
    ]
    latest = [{"event": "user", "parse_data": {"intent": {"name": intent}}}]
    return earlier + latest + list(after)


def action(name: str) -> dict[str, Any]:
    return {"event": "action", "name": name}


def test_outcomes_come_from_actions_and_slots() -> None:
    intake = turn(
        action("action_start_request"), {"event": "active_loop", "name": "workorder_form"}
    )
    assert outcome_of("ok", intake) == "intake"
    answered = turn(
        action("action_answer_knowledge"),
        {"event": "slot", "name": "answered_entry", "value": "kb-7"},
    )
    assert outcome_of("ok", answered) == "answer"
    unsure = turn(
        action("action_answer_knowledge"), {"event": "bot", "text": "没有找到有把握的答案"}
    )
    assert outcome_of("ok", unsure) == "other"
    department = turn(
        action("action_answer_department"),
        {"event": "slot", "name": "answered_department", "value": "health"},
    )
    assert outcome_of("ok", department) == "department"
    fallback = turn(
        action("action_handle_unclear"),
        {"event": "bot", "metadata": {"utter_action": "utter_default"}},
    )
    assert outcome_of("ok", fallback) == "fallback"
    assert outcome_of("ok", turn(action("utter_default"))) == "fallback"
    assert outcome_of("ok", turn(action("action_out_of_scope_guidance"))) == "out_of_scope"
    assert outcome_of("ok", turn(action("action_start_ticket_lookup"))) == "ticket_lookup"
    assert outcome_of("emergency", []) == "emergency"  # diverted by the gateway before Rasa
    assert outcome_of("ok", turn(action("utter_greet"))) == "other"


def test_a_diversion_that_handed_the_matter_over_is_not_counted_as_one() -> None:
    handed = turn(
        action("action_emergency_diversion"),
        action("action_answer_knowledge"),
        {"event": "active_loop", "name": "workorder_form"},
    )
    assert outcome_of("ok", handed) == "intake"
    assert outcome_of("ok", turn(action("action_emergency_diversion"))) == "emergency"


def record(
    row_id: str,
    outcome: str,
    kind: str | None = None,
    unit: str | None = None,
    place: str | None = None,
) -> TurnRecord:
    return TurnRecord(row_id, outcome, "…", 100.0, "complain", kind, unit, place)


def test_agreement_counts_labelled_rows_that_reached_intake() -> None:
    rows = [
        {"id": "1", "message": "…", "request_type": "投诉/求助"},
        {"id": "2", "message": "…", "request_type": "建言"},
        {"id": "3", "question": "…", "department": "医保局"},
        {"id": "4", "message": "…", "request_type": "咨询"},
    ]
    records = [
        record("1", "intake", "投诉", "urban_management", "****区*****小区**号楼"),
        record("2", "intake", "投诉", "transport"),
        record("3", "intake", "咨询", "medical_insurance"),
        record("4", "answer"),
    ]
    report = summarise(rows, records, LabelMapping.load(LABEL_MAPPING))
    assert report["messages"] == 4 and list(report["outcomes"]) == list(OUTCOMES)
    assert report["outcomes"]["intake"] == 3 and report["outcomes"]["answer"] == 1
    assert report["type_agreement"] == {"rows": 2, "share": 0.5}
    assert report["department_agreement"] == {"rows": 1, "share": 1.0}
    assert report["place_taken"] == {"rows": 3, "share": 0.3333}  # of the three intakes
    assert report["replies"][0]["place"] == "****区*****小区**号楼"
    assert report["replies"][3] == {
        "id": "4",
        "outcome": "answer",
        "intent": "complain",
        "predicted_type": None,
        "predicted_department": None,
        "place": None,
        "reply": "…",
    }


def test_the_default_sample_leaves_out_training_rows_and_is_stable() -> None:
    rows = [{"id": f"m{i}", "message": f"第{i}条留言"} for i in range(30)]
    sample = sample_rows(rows, exclude={"m1", "m2"}, size=10)
    assert len(sample) == 10 and not {"m1", "m2"} & {r["id"] for r in sample}
    assert sample == sample_rows(list(reversed(rows)), exclude={"m1", "m2"}, size=10)
