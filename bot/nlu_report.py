"""A per-intent table from Rasa's cross-validation report, for `make nlu-report`."""

from __future__ import annotations

import json
from pathlib import Path


def summarise(report_dir: Path) -> str:
    report = json.loads((report_dir / "intent_report.json").read_text())
    rows = [
        (name, values)
        for name, values in report.items()
        if isinstance(values, dict) and "f1-score" in values and "avg" not in name
    ]
    rows.sort(key=lambda row: row[1]["f1-score"])
    lines = [f"{'intent':<16} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>7}"]
    for name, values in rows:
        lines.append(
            f"{name:<16} {values['precision']:>9.3f} {values['recall']:>7.3f} "
            f"{values['f1-score']:>6.3f} {values['support']:>7}"
        )
    for name in ("accuracy", "macro avg", "weighted avg"):
        value = report.get(name)
        if isinstance(value, dict):
            lines.append(f"{name:<16} f1={value['f1-score']:.3f}")
        elif isinstance(value, float):
            lines.append(f"{name:<16} {value:.3f}")
    lines.append(f"full report: {report_dir / 'intent_report.json'}")
    return "\n".join(lines)
