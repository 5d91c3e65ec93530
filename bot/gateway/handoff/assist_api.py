"""Agent-assist API: free text in, the top-k suggested answers with citations out.

``POST /api/v1/assist/suggest`` with ``Authorization: Bearer <ASSIST_API_TOKEN>`` and a
JSON body ``{"text": "...", "top_k": 5, "status": [...], "type": [...], "kind": [...],
"issuer": "...", "department": "..."}``. Each suggestion carries the answer the assistant
would give for that entry (built only from the cited record), its citation, confidence and
scores, and the snippet with the query's words marked (offsets, and escaped HTML with
``<mark>``). Every bad request gets a short Chinese JSON error, never a stack trace.

The knowledge base is the gateway's one instance (``keys.KNOWLEDGE``, put there by the
wiring), loaded in a worker thread on first use or, with ``KB_PRELOAD=1`` (the default for
processes configured from the environment), in the background right after start-up so the
first agent does not wait.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from aiohttp import web

from bot.gateway import keys
from bot.gateway.responses import json_error, json_ok, read_json
from bot.knowledge.answer import answer_entry, compose_answer
from bot.knowledge.engine import Filters, KnowledgeBase
from bot.knowledge.models import Hit, Kind
from bot.knowledge.text import mark

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2000
MAX_TOP_K = 20
MAX_FILTER_CHARS = 100
_FIELDS = frozenset({"text", "top_k", "status", "type", "kind", "issuer", "department"})


class BadRequest(ValueError):
    """The message is shown to the agent console as is."""


@dataclass(frozen=True)
class SuggestRequest:
    text: str
    top_k: int
    filters: Filters


async def suggest(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    if not settings.assist_api_token:
        return json_error(
            503, "坐席辅助接口未启用：请在服务器上设置 ASSIST_API_TOKEN。", "assist_disabled"
        )
    if not _authorised(request, settings.assist_api_token):
        response = json_error(
            401, "未授权：请在 Authorization 头中提供有效的访问令牌。", "unauthorized"
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="assist"'
        return response
    body = await read_json(request)
    try:
        parsed = parse_request(body)
    except BadRequest as exc:
        return json_error(400, str(exc), "invalid_request")
    try:
        kb = await request.app[keys.KNOWLEDGE].get()
    except Exception:
        logger.exception("knowledge base unavailable")
        return json_error(503, "知识库暂时不可用，请稍后再试。", "knowledge_unavailable")
    payload = await asyncio.to_thread(_suggestions, kb, parsed)
    return json_ok(payload)


def _authorised(request: web.Request, token: str) -> bool:
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not supplied:
        return False
    return hmac.compare_digest(supplied.strip().encode(), token.encode())


def parse_request(body: Any) -> SuggestRequest:
    if not isinstance(body, dict):
        raise BadRequest('请求体必须是 JSON 对象，例如 {"text": "公积金怎么提取"}。')
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise BadRequest(f"不支持的字段：{'、'.join(unknown)}。")
    text = body.get("text")
    if not isinstance(text, str):
        raise BadRequest("text 必须是字符串，内容为来电人的问题。")
    text = text.strip()
    if not text:
        raise BadRequest("text 不能为空，请输入来电人的问题。")
    if len(text) > MAX_TEXT_CHARS:
        raise BadRequest(f"text 过长（{len(text)} 字），请精简到 {MAX_TEXT_CHARS} 字以内。")
    top_k = body.get("top_k", 5)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise BadRequest(f"top_k 必须是 1 到 {MAX_TOP_K} 之间的整数。")
    kinds = _strings(body, "kind")
    if not kinds <= {k.value for k in Kind}:
        raise BadRequest("kind 只能是 standard（标准）或 knowledge（知识点）。")
    filters = Filters(
        statuses=_strings(body, "status"),
        types=_strings(body, "type"),
        kinds=frozenset(Kind(k) for k in kinds),
        issuer=_string(body, "issuer"),
        department=_string(body, "department"),
    )
    return SuggestRequest(text, top_k, filters)


def _strings(body: dict[str, Any], field: str) -> frozenset[str]:
    value = body.get(field)
    if value is None:
        return frozenset()
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise BadRequest(f"{field} 必须是字符串或字符串数组。")
    if len(values) > 10 or any(len(v) > MAX_FILTER_CHARS for v in values):
        raise BadRequest(f"{field} 的取值过多或过长。")
    return frozenset(v.strip() for v in values if v.strip())


def _string(body: dict[str, Any], field: str) -> str:
    value = body.get(field, "")
    if not isinstance(value, str) or len(value) > MAX_FILTER_CHARS:
        raise BadRequest(f"{field} 必须是不超过 {MAX_FILTER_CHARS} 字的字符串。")
    return value.strip()


def _suggestions(kb: KnowledgeBase, request: SuggestRequest) -> dict[str, Any]:
    today = date.today()
    result = kb.search(request.text, top_k=request.top_k, filters=request.filters, today=today)
    answer = compose_answer(kb, result, today)
    return {
        "text": request.text,
        "answer": {
            "text": answer.text,
            "confident": answer.confident,
            "confidence": round(answer.confidence, 4),
            "citation": answer.citation.to_json() if answer.citation else None,
        },
        "suggestions": [_suggestion(kb, i, hit, today) for i, hit in enumerate(result.hits, 1)],
        "unknown_standard_numbers": [n.canonical for n in result.unknown_numbers],
    }


def _suggestion(kb: KnowledgeBase, rank: int, hit: Hit, today: date) -> dict[str, Any]:
    entry_answer = answer_entry(kb, hit.entry.id, today)
    citation = hit.citation
    return {
        "rank": rank,
        "answer": entry_answer.text if entry_answer else citation.snippet,
        "confidence": hit.confidence,
        "exact": hit.exact,
        "scores": hit.scores,
        "citation": citation.to_json(),
        "snippet_html": mark(
            citation.snippet, citation.highlights, "<mark>", "</mark>", html.escape
        ),
    }
