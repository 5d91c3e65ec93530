"""`make eval-search` on a file with bad rows: they are skipped and counted, the rest is
evaluated (one empty answer used to refuse the whole file)."""

from __future__ import annotations

import json
from pathlib import Path

from bot.knowledge.embedder import Embedder
from bot.knowledge.evaluation import SkippedRow, format_report, load_questions, run_eval


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _row(question: object, answer: object) -> str:
    return json.dumps({"question": question, "answer": answer}, ensure_ascii=False)


def test_rows_without_an_answer_are_skipped_counted_and_the_rest_evaluated(
    tmp_path: Path, embedder: Embedder
) -> None:
    path = _write(
        tmp_path / "qa.jsonl",
        [
            _row("小区路灯坏了找谁修", "路灯维修由市城市管理局负责，可拨打12345反映。"),
            _row("家里暖气不热怎么办", ""),
            '{"question": "半行',
            "",
            "[1, 2]",
            _row("", "没有问题的答案"),
            _row("供暖不热找哪个单位", "供暖问题由济南热力集团受理，供暖期内24小时服务。"),
        ],
    )
    report = run_eval(path, embedder, progress=False)
    assert report["questions"] == 2 and report["answers_indexed"] == 2
    assert report["skipped_rows"] == [
        {"line": 2, "reason": "问题或答案为空"},
        {"line": 3, "reason": "不是有效的 JSON"},
        {"line": 5, "reason": "不是 JSON 对象"},
        {"line": 6, "reason": "问题或答案为空"},
    ]
    text = format_report(report)
    assert "跳过 4 行" in text and "第2行：问题或答案为空" in text
    assert report["metrics"]["hybrid"]["recall@5"] == 1.0


def test_labelled_questions_skip_rows_without_a_question_or_expected_list(
    tmp_path: Path,
) -> None:
    path = _write(
        tmp_path / "questions.jsonl",
        [
            json.dumps({"question": "路灯坏了", "expected": ["kp-streetlight"]}),
            json.dumps({"question": "路灯坏了"}),
            json.dumps({"expected": []}),
        ],
    )
    skipped: list[SkippedRow] = []
    questions = load_questions(path, skipped)
    assert [q.text for q in questions] == ["路灯坏了"]
    assert [row.line for row in skipped] == [2, 3]
