"""What an import did, row by row: nothing is dropped without a line saying why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.clock import beijing_time


class Severity(StrEnum):
    ERROR = "错误"  # the row was not imported
    WARNING = "提示"  # the row was imported, with the noted part ignored or corrected


@dataclass(frozen=True)
class Problem:
    line: int | None
    severity: Severity
    message: str

    def __str__(self) -> str:
        where = f"第{self.line}行" if self.line is not None else "文件"
        return f"[{self.severity.value}] {where}：{self.message}"


@dataclass
class ImportReport:
    path: str
    format: str
    rows: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    embedded: int = 0
    problems: list[Problem] = field(default_factory=list)
    # Set when the file was skipped: unchanged since its import at this time.
    skipped_since: datetime | None = None

    def error(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(line, Severity.ERROR, message))

    def warning(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(line, Severity.WARNING, message))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    def summary(self) -> str:
        if self.skipped_since is not None:
            return (
                f"导入 {self.path}（{self.format}）：文件自 {beijing_time(self.skipped_since)} "
                "导入以来没有变化，已跳过"
                "（如需重新导入，请加 --force）。"
            )
        lines = [
            f"导入 {self.path}（{self.format}）：读取 {self.rows} 条，新增 {len(self.added)}，"
            f"更新 {len(self.updated)}，未变 {len(self.unchanged)}，删除 {len(self.removed)}，"
            f"重新向量化 {self.embedded} 段；错误 {len(self.errors)}，提示 {len(self.warnings)}。"
        ]
        lines += [str(p) for p in self.problems]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "rows": self.rows,
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "removed": len(self.removed),
            "embedded": self.embedded,
            "skipped": self.skipped_since is not None,
            "problems": [
                {"line": p.line, "severity": p.severity.name.lower(), "message": p.message}
                for p in self.problems
            ],
        }
