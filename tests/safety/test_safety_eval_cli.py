"""``python -m bot safety eval`` on files of our own: counts, triggers and example recall."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.__main__ import main


def test_eval_counts_triggers_and_reports_recall(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    messages = tmp_path / "messages.jsonl"
    rows = [
        {"id": "a", "message": "楼下着火了，快来人"},
        {"id": "b", "message": "这个路口经常出车祸，建议加个红绿灯"},
        {"id": "c", "question": "我已经起诉了，法院什么时候开庭"},
        {"id": "d", "message": "小区垃圾没人清运"},
    ]
    messages.write_text(
        "\n".join(json.dumps(row, ensure_ascii=False) for row in rows), encoding="utf-8"
    )
    out = tmp_path / "safety.json"
    assert main(["safety", "eval", str(messages), "--out", str(out)]) == 0
    figures = json.loads(out.read_text(encoding="utf-8"))
    (report,) = figures["files"]
    assert report["messages"] == 4
    assert report["emergency_by_kind"] == {"fire": 1}
    assert report["out_of_scope_by_kind"] == {"litigation": 1}
    assert {t["row_id"] for t in report["triggers"]} == {"a", "c"}
    assert figures["examples"]["recall"] == 1.0
    assert "recall 100.0%" in capsys.readouterr().out
