"""Extra NLU examples from a centre's history: which intent, what text, how many, and that
new history means a new model (tests use their own rows: the dev files carry no licence)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from bot.nlu_history import (
    MAX_EXAMPLE_CHARS,
    example_text,
    history_digest,
    intent_for,
    select_examples,
    selected_ids,
    write_history_nlu,
)
from bot.rasa_runtime import cached_model_path
from bot.routing.evaluation import LabelMapping
from bot.routing.history import LABEL_MAPPING
from bot.settings import Settings

MAPPING = LabelMapping.load(LABEL_MAPPING)


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_labels_map_to_the_intents_that_start_the_right_dialogue() -> None:
    assert intent_for({"message": "…", "request_type": "咨询"}, MAPPING) == "consult"
    assert intent_for({"message": "…", "request_type": "投诉/求助"}, MAPPING) == "complain"
    assert intent_for({"message": "…", "request_type": "建言"}, MAPPING) == "suggest"
    assert intent_for({"message": "…", "request_type": "举报"}, MAPPING) == "report"
    assert intent_for({"question": "社保怎么转移", "department": "人社局"}, MAPPING) == "consult"
    assert intent_for({"message": "…", "request_type": "闲聊"}, MAPPING) is None


def test_masks_read_as_some_and_markup_cannot_become_annotations() -> None:
    text = example_text("我住在****区*****小区，电话138********，[急](快)请处理{x}")
    assert text == "我住在某区某小区，电话，【急】(快)请处理（x）"
    assert example_text("****") is None  # nothing left to learn from


def test_long_messages_are_cut_at_a_sentence_end() -> None:
    sentence = "小区门口的道路坑洼不平，下雨天积水严重，老人孩子出行很不方便。"
    text = example_text(sentence * 10)
    assert text is not None and text.endswith("。")
    assert MAX_EXAMPLE_CHARS // 2 < len(text) <= MAX_EXAMPLE_CHARS * 1.5


def test_each_intent_is_capped_and_the_choice_is_stable() -> None:
    rows = [
        {"id": f"m{i}", "message": f"第{i}号楼的电梯坏了好几天了", "request_type": "投诉/求助"}
        for i in range(50)
    ] + [{"id": "q1", "question": "居住证怎么办理"}]
    chosen = select_examples(rows, MAPPING, per_intent=10)
    assert len(chosen["complain"]) == 10 and chosen["consult"] == ["居住证怎么办理"]
    assert select_examples(list(reversed(rows)), MAPPING, per_intent=10) == chosen


def test_the_generated_file_is_rasa_nlu_and_the_used_rows_are_known(tmp_path: Path) -> None:
    history = _write(
        tmp_path / "history.jsonl",
        [
            {"id": "a", "message": "楼下烧烤店油烟太大，熏得没法开窗", "request_type": "投诉/求助"},
            {"id": "b", "message": "建议在路口增设红绿灯，方便行人过马路", "request_type": "建言"},
            {"id": "c", "question": "公积金贷款额度怎么算", "answer": "…"},
        ],
    )
    counts = write_history_nlu([history], tmp_path / "out" / "history_nlu.yml")
    assert counts == {"complain": 1, "suggest": 1, "consult": 1}
    document = yaml.safe_load((tmp_path / "out" / "history_nlu.yml").read_text("utf-8"))
    examples = {item["intent"]: item["examples"].splitlines() for item in document["nlu"]}
    assert examples["suggest"] == ["- 建议在路口增设红绿灯，方便行人过马路"]
    assert selected_ids([history]) == {"a", "b", "c"}


def test_history_is_part_of_the_model_cache_key(tmp_path: Path) -> None:
    settings = Settings().with_overrides(model_cache_dir=tmp_path)
    history = _write(tmp_path / "h.jsonl", [{"id": "a", "question": "居住证怎么办理"}])
    plain = cached_model_path(settings)
    with_history = cached_model_path(settings, history=[history])
    assert plain.name.startswith("hotline-") and "-h" not in plain.name
    assert with_history != plain and history_digest([history]) in with_history.name
    _write(history, [{"id": "a", "question": "护照怎么办理"}])
    assert cached_model_path(settings, history=[history]) != with_history
