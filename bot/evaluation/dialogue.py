"""``make eval-dialogue``: what the whole assistant does with real first messages.

Routing and search can be measured in-process, but whether a citizen's first message ends in
an answer, a work-order intake or "没有完全理解" depends on all of it at once: the gateway's
checks, the NLU, the dialogue policies and the actions. So each message is sent as the first
turn of a fresh conversation through the real processes, and the outcome is read from what
the assistant did — the gateway's status, the actions Rasa ran and the slots they set, fetched
from Rasa's tracker — never from the wording of the reply, which changes with every edit.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.bench.common import percentile
from bot.routing.evaluation import LabelMapping, message_text, read_jsonl
from bot.settings import Settings

OUTCOMES = (
    "answer",
    "department",
    "intake",
    "fallback",
    "out_of_scope",
    "emergency",
    "ticket_lookup",
    "other",
)
LOOKUP_LOOPS = frozenset({"ticket_form", "supplement_form", "rating_form"})
LOOKUP_ACTIONS = frozenset({"action_start_ticket_lookup", "action_check_ticket"})
FALLBACK_ACTIONS = frozenset({"utter_default", "action_default_fallback"})
REPLY_CHARS = 300
DEFAULT_SAMPLE = 200


@dataclass(frozen=True)
class TurnRecord:
    """One first turn as the assistant handled it."""

    row_id: str
    outcome: str
    reply: str
    latency_ms: float
    intent: str | None
    predicted_type: str | None
    predicted_department: str | None
    place: str | None = None  # the place the intake took from the message itself


def outcome_of(status: str, events: Sequence[dict[str, Any]]) -> str:
    """The outcome of the latest turn from the gateway's status and the tracker's events.

    What the turn ended in counts: an intake is an intake even when the knowledge search
    ran first, or a diversion action found a narrative rather than an emergency and handed
    the matter over; a diversion counts only when nothing was taken up after it.
    """
    if status == "emergency":
        return "emergency"
    turn = _latest_turn(events)
    actions = {str(e.get("name")) for e in turn if e.get("event") == "action"}
    loops = {str(e.get("name")) for e in turn if e.get("event") == "active_loop" and e.get("name")}
    slots = {str(e.get("name")) for e in turn if e.get("event") == "slot" and e.get("value")}
    uttered = {
        str((e.get("metadata") or {}).get("utter_action"))
        for e in turn
        if e.get("event") == "bot" and isinstance(e.get("metadata"), dict)
    }
    if "workorder_form" in loops:
        return "intake"
    if loops & LOOKUP_LOOPS or actions & LOOKUP_ACTIONS:
        return "ticket_lookup"
    if "answered_entry" in slots:
        return "answer"
    if "answered_department" in slots:
        return "department"
    if "action_emergency_diversion" in actions:
        return "emergency"
    if "action_out_of_scope_guidance" in actions:
        return "out_of_scope"
    if (actions | uttered) & FALLBACK_ACTIONS:
        return "fallback"
    return "other"


def _latest_turn(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    starts = [i for i, event in enumerate(events) if event.get("event") == "user"]
    return list(events[starts[-1] :]) if starts else []


def _slot(events: Sequence[dict[str, Any]], name: str) -> object:
    """The value the latest turn last set ``name`` to, or None."""
    for event in reversed(_latest_turn(events)):
        if event.get("event") == "slot" and event.get("name") == name:
            return event.get("value")
    return None


def intake_routing(events: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The type and department the intake predicted (the ``request_routing`` slot)."""
    value = _slot(events, "request_routing")
    return value if isinstance(value, dict) else {}


def _intent(events: Sequence[dict[str, Any]]) -> str | None:
    turn = _latest_turn(events)
    if not turn:
        return None
    name = ((turn[0].get("parse_data") or {}).get("intent") or {}).get("name")
    return str(name) if name else None


class DialogueProbe:
    """Sends first turns to a running assistant: the gateway's JSON channel, then Rasa's
    tracker API (with its token) for what was done."""

    def __init__(
        self, session: aiohttp.ClientSession, gateway_url: str, rasa_url: str, rasa_token: str
    ) -> None:
        self.session = session
        self.gateway_url = gateway_url.rstrip("/")
        self.rasa_url = rasa_url.rstrip("/")
        self.rasa_token = rasa_token

    async def first_turn(self, row_id: str, text: str) -> TurnRecord:
        sender = f"eval-{uuid.uuid4().hex[:12]}"
        started = time.perf_counter()
        async with self.session.post(
            f"{self.gateway_url}/api/v1/messages", json={"sender": sender, "message": text}
        ) as response:
            if response.status != 200:
                # Counted and shown, not fatal: one broken turn must not hide the others.
                detail = f"HTTP {response.status}: {(await response.text())[:200]}"
                elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
                return TurnRecord(row_id, "other", detail, elapsed_ms, None, None, None)
            body: dict[str, Any] = await response.json()
        latency_ms = (time.perf_counter() - started) * 1000
        async with self.session.get(
            f"{self.rasa_url}/conversations/{quote(sender, safe='')}/tracker",
            params={"token": self.rasa_token, "include_events": "ALL"},
        ) as response:
            response.raise_for_status()
            tracker: dict[str, Any] = await response.json()
        events = [e for e in tracker.get("events") or [] if isinstance(e, dict)]
        routing = intake_routing(events)
        place = _slot(events, "location")
        reply = "\n".join(str(m.get("text") or "") for m in body.get("messages") or [])
        return TurnRecord(
            row_id=row_id,
            outcome=outcome_of(str(body.get("status") or ""), events),
            reply=reply[:REPLY_CHARS],
            latency_ms=round(latency_ms, 1),
            intent=_intent(events),
            predicted_type=routing.get("request_type") or None,
            predicted_department=routing.get("department_id") or None,
            place=place if isinstance(place, str) and place else None,
        )


WARM_UP = "我要投诉，小区楼下的烧烤店每天营业到凌晨，油烟和噪音太大，希望有关部门处理。"


async def warm_up(probe: DialogueProbe, budget_s: float = 300.0) -> None:
    """One complaint through every part until it is answered, so that what loads on first
    use (the knowledge base, the routing models) is not counted against the first rows."""
    deadline = time.monotonic() + budget_s
    while True:
        record = await probe.first_turn("warm-up", WARM_UP)
        if record.outcome != "other" or time.monotonic() > deadline:
            return
        await asyncio.sleep(5)


async def run_rows(
    probe: DialogueProbe, rows: Sequence[dict[str, Any]], concurrency: int = 4
) -> list[TurnRecord]:
    """Every row's first turn, ``concurrency`` conversations at a time, in the rows' order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int, row: dict[str, Any]) -> TurnRecord:
        async with gate:
            return await probe.first_turn(str(row.get("id", index)), message_text(row))

    return list(await asyncio.gather(*(one(i, row) for i, row in enumerate(rows))))


def summarise(
    rows: Sequence[dict[str, Any]], records: Sequence[TurnRecord], mapping: LabelMapping
) -> dict[str, Any]:
    """The figures of the report; agreement counts only labelled rows that reached intake."""
    counts = Counter(record.outcome for record in records)
    type_pairs = [
        record.predicted_type in mapping.request_types[str(row["request_type"])]
        for row, record in zip(rows, records, strict=True)
        if record.outcome == "intake" and row.get("request_type") in mapping.request_types
    ]
    department_pairs = []
    for row, record in zip(rows, records, strict=True):
        label = row.get("department")
        gold = mapping.departments.get(label) if isinstance(label, str) else None
        if record.outcome == "intake" and gold:
            department_pairs.append(record.predicted_department in gold)
    # Each intake that took the place from the message is one question the citizen is spared.
    places = [record.place is not None for record in records if record.outcome == "intake"]
    latencies = [record.latency_ms for record in records]
    total = len(records)
    return {
        "messages": total,
        "outcomes": {name: counts.get(name, 0) for name in OUTCOMES},
        "shares": {name: _share(counts.get(name, 0), total) for name in OUTCOMES},
        "type_agreement": _agreement(type_pairs),
        "department_agreement": _agreement(department_pairs),
        "place_taken": _agreement(places),
        "latency_ms": {
            "p50": round(percentile(latencies, 0.50), 1),
            "p95": round(percentile(latencies, 0.95), 1),
        },
        "replies": [
            {
                "id": record.row_id,
                "outcome": record.outcome,
                "intent": record.intent,
                "predicted_type": record.predicted_type,
                "predicted_department": record.predicted_department,
                "place": record.place,
                "reply": record.reply,
            }
            for record in records
        ],
    }


def _agreement(pairs: list[bool]) -> dict[str, Any]:
    return {"rows": len(pairs), "share": _share(sum(pairs), len(pairs))}


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def load_rows(paths: Iterable[Path]) -> list[dict[str, Any]]:
    return [row for path in paths for row in read_jsonl(path)]


def sample_rows(
    rows: Sequence[dict[str, Any]], exclude: set[str], size: int = DEFAULT_SAMPLE
) -> list[dict[str, Any]]:
    """A fixed pseudo-random sample of the rows whose ids are not in ``exclude`` (the rows a
    model was trained on), the same on every run."""

    def rank(row: dict[str, Any]) -> str:
        return hashlib.sha256(f"{row.get('id')}:{message_text(row)}".encode()).hexdigest()

    kept = [row for row in rows if str(row.get("id")) not in exclude]
    return sorted(kept, key=rank)[:size]


def write_report(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")


def run_evaluation(
    base: Settings,
    eval_path: Path | None,
    out: Path,
    sample: int = DEFAULT_SAMPLE,
    concurrency: int = 4,
) -> int:
    """Starts a stack on free ports (its model trained on the history ``base`` names), sends
    the rows, writes the report to ``out`` and prints the figures; the command's exit code."""
    from bot.bench.common import local_stack_settings
    from bot.launcher import Stack
    from bot.nlu_history import selected_ids
    from bot.routing.history import LABEL_MAPPING, default_history_files

    history = base.history_files
    if eval_path is not None:
        rows = load_rows([eval_path])
    else:
        source = default_history_files()
        if not source:
            print("No EVAL file given and no development files found (../shared/data/eval-dev).")
            return 2
        rows = sample_rows(load_rows(source), selected_ids(history) if history else set(), sample)
    # A fresh folder per run, kept afterwards: its logs explain any reply in the report.
    var_dir = base.var_dir / "eval-dialogue"
    shutil.rmtree(var_dir, ignore_errors=True)
    settings = local_stack_settings(
        base,
        var_dir,
        rate_limit_messages=1_000_000,
        rate_limit_address_messages=1_000_000,
        kb_preload=True,
    )
    stack = Stack(settings)
    print(f"Starting the assistant for {len(rows)} messages (logs in {settings.var_dir / 'logs'})…")
    stack.start()
    try:
        started = time.perf_counter()
        records = asyncio.run(_run(stack.settings, rows, concurrency))
    finally:
        stack.stop()
    report = summarise(rows, records, LabelMapping.load(LABEL_MAPPING))
    report["history"] = [str(path) for path in history]
    report["elapsed_s"] = round(time.perf_counter() - started, 1)
    write_report(report, out)
    print(json.dumps({k: v for k, v in report.items() if k != "replies"}, ensure_ascii=False))
    print(f"report with every reply: {out}")
    return 0


async def _run(
    settings: Settings, rows: Sequence[dict[str, Any]], concurrency: int
) -> list[TurnRecord]:
    timeout = aiohttp.ClientTimeout(total=settings.rasa_timeout_s + 30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        probe = DialogueProbe(session, settings.gateway_url, settings.rasa_url, settings.rasa_token)
        await warm_up(probe)
        return await run_rows(probe, rows, concurrency)
