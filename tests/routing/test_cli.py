"""The routing CLI on small JSONL files made here (the real evaluation data is not needed)."""

from __future__ import annotations

import json
from pathlib import Path

from bot.__main__ import main


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )


def test_classify_writes_one_prediction_per_line(tmp_path: Path, capsys) -> None:
    source = tmp_path / "in.jsonl"
    target = tmp_path / "out" / "predictions.jsonl"
    _write(
        source,
        [
            {"id": "a", "message": "我要投诉，暖气一点都不热"},
            {"id": "b", "question": "公积金贷款需要什么条件？"},
            {"content": "历城区王舍人街道有人私搭乱建"},
        ],
    )
    assert main(["routing", "classify", str(source), str(target)]) == 0
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [row.get("id") for row in rows] == ["a", "b", None]
    assert rows[0]["request_type"] == "投诉" and rows[0]["department"] == "heating"
    assert rows[1]["request_type"] == "咨询"
    assert rows[1]["department"] == "housing_provident_fund"
    assert rows[2]["department"] == "district:370112"
    for row in rows:
        assert len(row["top3"]) >= 1
        assert 0 < row["department_confidence"] <= 1
        assert row["reason"]
        assert {"department", "confidence", "reason"} <= set(row["top3"][0])
    assert "classified 3 messages" in capsys.readouterr().out


def test_eval_reports_figures_and_writes_json(tmp_path: Path, capsys) -> None:
    messages = tmp_path / "messages.jsonl"
    _write(
        messages,
        [
            {"message": "请问居住证怎么办理？", "request_type": "咨询", "domain": "治安"},
            {"message": "建议增开夜班公交车", "request_type": "建言", "domain": "交通"},
            {"message": "公司拖欠工资三个月，希望尽快解决", "request_type": "投诉/求助"},
        ],
    )
    questions = tmp_path / "questions.jsonl"
    _write(
        questions,
        [
            {"question": "住房公积金怎么提取？", "department": "住房公积金管理中心"},
            {"question": "医保异地就医如何备案？", "department": "医保局"},
            {"question": "如何预约机动车业务？", "department": "首都之窗"},
        ],
    )
    out = tmp_path / "figures.json"
    command = ["routing", "eval", "--history", "none", "--eval", str(tmp_path), "--out", str(out)]
    assert main(command) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    kinds = report["files"]["messages.jsonl"]["request_type"]
    assert kinds["rows"] == 3 and kinds["accuracy"] == 1.0 and kinds["macro_f1"] == 1.0
    assert kinds["domain"] == {"rows": 2, "accuracy": 1.0}
    departments = report["files"]["questions.jsonl"]["department"]
    assert departments["rows"] == 2 and departments["skipped"] == 1
    assert departments["top1"] == 1.0 and departments["top3"] == 1.0
    printed = capsys.readouterr().out
    assert "request type accuracy 1.000" in printed and "department top-1 1.000" in printed


def test_eval_without_data_says_so(tmp_path: Path, capsys) -> None:
    assert main(["routing", "eval", "--history", "none", "--eval", str(tmp_path / "nothing")]) == 2
    assert "no labelled JSONL" in capsys.readouterr().err
