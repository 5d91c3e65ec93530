"""Real processes on the kind of messages citizens write: first turns measured the way
``make eval-dialogue`` measures them, our own short phrasings after training on history,
and details given inside a form filling their slots (never read as goodbye or fallback)."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import pytest
import yaml

from bot.evaluation.dialogue import DialogueProbe, run_rows, warm_up
from bot.launcher import Stack
from bot.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.e2e

PHRASINGS = PROJECT_ROOT / "tests" / "e2e" / "phrasings.yml"
FIRST_TURNS = [
    (
        "尊敬的领导您好：我是历下区某小区的业主，小区门口的烧烤摊每天营业到凌晨两点，油烟和噪音"
        "特别大，楼上的住户根本没法休息。我们找过物业和社区，都说管不了，希望有关部门尽快处理。",
        "intake",
    ),
    ("我家楼下着火了，好多烟", "emergency"),
    ("我跟公司的劳动仲裁已经开庭了，你们能帮我催催仲裁委吗", "out_of_scope"),
    ("咕噜咕噜阿巴阿巴 zxqv", "fallback"),
]


async def test_first_turns_are_classified_from_what_the_assistant_did(default_stack: Stack) -> None:
    settings = default_stack.settings
    rows = [{"id": f"t{i}", "message": text} for i, (text, _) in enumerate(FIRST_TURNS)]
    async with aiohttp.ClientSession() as session:
        probe = DialogueProbe(session, settings.gateway_url, settings.rasa_url, settings.rasa_token)
        await warm_up(probe)
        records = await run_rows(probe, rows, concurrency=2)
    assert [r.outcome for r in records] == [outcome for _, outcome in FIRST_TURNS], records
    intake = records[0]
    assert intake.predicted_type == "投诉" and intake.predicted_department, intake


async def _parse(session: aiohttp.ClientSession, settings: Settings, text: str) -> dict[str, Any]:
    async with session.post(
        f"{settings.rasa_url}/model/parse",
        params={"token": settings.rasa_token},
        json={"text": text},
    ) as response:
        parsed: dict[str, Any] = await response.json()
    return parsed


async def test_our_short_phrasings_keep_their_intents(default_stack: Stack) -> None:
    expected = yaml.safe_load(PHRASINGS.read_text("utf-8"))
    wrong = []
    async with aiohttp.ClientSession() as session:
        for intent, texts in expected.items():
            for text in texts:
                got = (await _parse(session, default_stack.settings, text))["intent"]["name"]
                if got != intent:
                    wrong.append((text, intent, got))
    assert not wrong, wrong


async def _say(session: aiohttp.ClientSession, settings: Settings, sender: str, text: str) -> None:
    async with session.post(
        f"{settings.gateway_url}/api/v1/messages", json={"sender": sender, "message": text}
    ) as response:
        assert response.status == 200


async def _slots(session: aiohttp.ClientSession, settings: Settings, sender: str) -> dict[str, Any]:
    async with session.get(
        f"{settings.rasa_url}/conversations/{sender}/tracker", params={"token": settings.rasa_token}
    ) as response:
        tracker: dict[str, Any] = await response.json()
    slots: dict[str, Any] = tracker["slots"]
    return slots


async def test_details_inside_the_form_fill_their_slots(default_stack: Stack) -> None:
    settings = default_stack.settings
    complaint = "我要投诉，历下区泉城路123号附近的烧烤店油烟太大，天天熏得没法开窗"
    async with aiohttp.ClientSession() as session:
        one = f"rest-{uuid.uuid4().hex[:8]}"
        await _say(session, settings, one, complaint)
        await _say(session, settings, one, "13812345678")
        await _say(session, settings, one, "张先生")
        slots = await _slots(session, settings, one)
        assert slots["phone_number"] == "13812345678" and slots["citizen_name"] == "张先生"
        assert slots["requested_slot"] == "consent_contact", slots

        both = f"rest-{uuid.uuid4().hex[:8]}"
        await _say(session, settings, both, complaint)
        await _say(session, settings, both, "我姓王，电话13912345678")
        slots = await _slots(session, settings, both)
        assert slots["phone_number"] == "13912345678" and slots["citizen_name"] == "姓王"
        assert slots["requested_slot"] == "consent_contact", slots
