"""Every identifier the console can show has a Chinese label: intents, entities and slots
from ``domain.yml``, and every channel and status the code writes into the transcript."""

from __future__ import annotations

import re
from pathlib import Path

from bot.console.labels import (
    ACTION_LABELS,
    CHANNEL_LABELS,
    ENTITY_LABELS,
    INTENT_LABELS,
    STATUS_LABELS,
    describe_payload,
    entities_text,
)
from bot.console.review import project_vocabulary
from bot.settings import PROJECT_ROOT

# Where turn statuses are decided (TurnResult, the gate's replies, channel replies, notices).
_STATUS_SOURCES = (
    "bot/conversation/*.py",
    "bot/handoff/gate.py",
    "bot/wechat/*.py",
    "bot/gateway/channels/*.py",
)
_STATUS_PATTERNS = (
    re.compile(r'\bstatus="([a-z_]+)"'),
    re.compile(r'\bstatus: str = "([a-z_]+)"'),
    re.compile(r'(?<!json_ok\(\{)"status": "([a-z_]+)"'),  # not an HTTP answer
    re.compile(r'\breason="([a-z_]+)"'),  # a refused message's reason is its status
    re.compile(r'_say\([^\n]*, "([a-z_]+)"\)'),
    re.compile(r'TurnResult\(\([^\n]*\),\s*"([a-z_]+)"'),
    re.compile(r'or "([a-z_]+)"\)'),
)
_CHANNEL_PATTERNS = (
    re.compile(r'\bchannel="([a-z_]+)"'),
    re.compile(r'^[A-Z_]*CHANNEL[A-Z_]* = "([a-z_]+)"', re.MULTILINE),
    re.compile(r'^(?:WEBCHAT|WECHAT) = "([a-z_]+)"', re.MULTILINE),
)


def _found(globs: tuple[str, ...], patterns: tuple[re.Pattern[str], ...]) -> set[str]:
    files = {f for g in globs for f in PROJECT_ROOT.glob(g)}
    return {
        value
        for path in files
        for pattern in patterns
        for value in pattern.findall(Path(path).read_text(encoding="utf-8"))
    }


def test_every_domain_name_has_a_label() -> None:
    vocabulary = project_vocabulary()
    assert set(vocabulary.intents) <= INTENT_LABELS.keys()
    assert set(vocabulary.entities) | set(vocabulary.slots) <= ENTITY_LABELS.keys()
    assert set(vocabulary.actions) | set(vocabulary.forms) <= ACTION_LABELS.keys()
    assert "nlu_fallback" in INTENT_LABELS


def test_every_status_and_channel_written_has_a_label() -> None:
    statuses = _found(_STATUS_SOURCES, _STATUS_PATTERNS)
    # the scan itself still finds what it is meant to find
    assert {"ok", "handoff_unavailable", "note_prompt", "workorder", "too_long"} <= statuses
    assert statuses <= STATUS_LABELS.keys(), statuses - STATUS_LABELS.keys()
    channels = _found(("bot/**/*.py",), _CHANNEL_PATTERNS)
    assert {"webchat", "wechat", "rest", "phone"} <= channels
    assert channels <= CHANNEL_LABELS.keys(), channels - CHANNEL_LABELS.keys()


def test_labels_are_chinese_only() -> None:
    for table in (INTENT_LABELS, ENTITY_LABELS, ACTION_LABELS, CHANNEL_LABELS, STATUS_LABELS):
        for label in table.values():
            assert not re.search(r"[A-Za-z_]", label), label


def test_button_payloads_and_entities_read_as_words() -> None:
    assert (
        describe_payload('/ask_standard{"standard_number": "GB/T 33358"}')
        == "查询标准（标准编号：GB/T 33358）"
    )
    assert describe_payload("/handoff_cancel") == "取消排队"
    assert describe_payload("路灯坏了") is None
    entities = [
        {"entity": "location", "value": "历下区"},
        {"entity": "location", "value": "文化东路"},
    ]
    assert entities_text(entities) == "地点=历下区；地点=文化东路"
