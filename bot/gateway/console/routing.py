"""What the console shows of learned routing: why a citizen turn would be routed as it is,
and which model is live and how well it scored.

A supervisor judging a correction needs the same evidence the agent had (the similar past
cases, the catalogue matter, how sure the model was), so the conversation view explains the
turns that describe a matter with the workspace's own explanation (``bot.routing.explain``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.clock import beijing_time
from bot.console.queries import ConversationDetail
from bot.gateway.console.services import ConsoleServices
from bot.routing.explain import Explanation, explain

logger = logging.getLogger(__name__)

# Intents whose message states a matter; a greeting or a phone number has nothing to route.
MATTER_INTENTS = frozenset(
    {
        "consult",
        "seek_help",
        "complain",
        "report",
        "suggest",
        "praise",
        "ask_department",
        "register_request",
        "emergency",
        "out_of_scope",
        "nlu_fallback",
    }
)
# Classifying takes tens of milliseconds per turn; a long conversation states its matter
# in its first few such turns.
MAX_EXPLAINED = 5
MODEL_KINDS = {"history": "由历史诉求训练", "promoted": "由现场修正再训练后上线"}
SOURCE_LABELS = {
    "history": "中心历史诉求",
    "catalogue": "派单目录典型事项",
    "examples": "项目自编示例",
    "correction": "管理台修正",
    "workorder": "已办结工单",
}
SCORE_LABELS = (
    ("type_macro_f1", "诉求类型 macro-F1"),
    ("department_top1", "承办单位 首选准确率（top-1）"),
    ("department_top3", "承办单位 前三命中率（top-3）"),
)
LOADING = "分派模型正在加载，请稍后刷新页面查看分派依据。"


async def explanations(
    services: ConsoleServices, detail: ConversationDetail
) -> tuple[dict[int, Explanation], str | None]:
    """Explanations of the turns worth one (from the unmasked text; the explanation masks
    what it quotes), and a note when the model is not loaded yet."""
    turns = [
        t
        for t in detail.turns
        if t.role == "citizen" and t.text.strip() and t.intent in MATTER_INTENTS
    ][:MAX_EXPLAINED]
    if not turns:
        return {}, None
    classify = services.classify
    if not classify.ready:  # never keep a supervisor waiting seconds for the model
        classify.warm()
        return {}, LOADING
    try:
        found = await asyncio.to_thread(lambda: [classify(t.text) for t in turns])
    except Exception:
        logger.exception("routing explanations unavailable for the conversation view")
        return {}, None
    return {t.id: explain(c) for t, c in zip(turns, found, strict=True)}, None


@dataclass(frozen=True)
class ModelPanel:
    version: str
    kind: str
    trained_at: str
    sources: tuple[tuple[str, int], ...]
    rows: int | None
    history_files: tuple[str, ...]
    scores: tuple[tuple[str, str], ...]
    eval_file: str | None


def model_panel(info: dict[str, Any] | None) -> ModelPanel | None:
    """``bot.routing.live_model_info`` as people read it: Beijing time, sources in Chinese,
    scores as percentages; file names only (the server's folders are nobody's business)."""
    if info is None:
        return None
    trained = info.get("trained_at")
    scores = info.get("scores") or {}
    return ModelPanel(
        version=str(info["version"]),
        kind=MODEL_KINDS.get(str(info.get("kind")), str(info.get("kind") or "")),
        trained_at=beijing_time(datetime.fromisoformat(trained)) if trained else "未记录",
        sources=tuple(
            (SOURCE_LABELS.get(source, source), int(count))
            for source, count in sorted(
                (info.get("rows_by_source") or {}).items(), key=lambda item: -int(item[1])
            )
        ),
        rows=info.get("rows"),
        history_files=tuple(Path(name).name for name in info.get("history") or ()),
        scores=tuple(
            (label, f"{float(scores[key]) * 100:.1f}%")
            for key, label in SCORE_LABELS
            if key in scores
        ),
        eval_file=Path(info["eval_file"]).name if info.get("eval_file") else None,
    )
