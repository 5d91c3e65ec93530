"""Chinese text handling for search: tokens for BM25, passages for indexing, snippets to cite.

One jieba tokenizer instance (not jieba's global one) is shared by indexing and querying,
so both sides always cut words the same way, with the project's user dictionaries loaded.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

import jieba

from bot.settings import PROJECT_ROOT

USER_DICT_DIR = PROJECT_ROOT / "data" / "dict"

# Function words and question frames that carry no topic ("怎么办理" matches every procedure).
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "是",
        "在",
        "和",
        "与",
        "及",
        "或",
        "等",
        "也",
        "都",
        "就",
        "还",
        "又",
        "把",
        "被",
        "让",
        "给",
        "对",
        "向",
        "从",
        "到",
        "为",
        "以",
        "于",
        "之",
        "其",
        "这",
        "那",
        "个",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "哦",
        "嗯",
        "么",
        "么样",
        "我",
        "我们",
        "你",
        "你们",
        "您",
        "他",
        "她",
        "它",
        "他们",
        "自己",
        "请问",
        "请",
        "问",
        "一下",
        "一个",
        "什么",
        "怎么",
        "怎么样",
        "怎样",
        "如何",
        "哪",
        "哪里",
        "哪些",
        "哪个",
        "为什么",
        "能不能",
        "可不可以",
        "是否",
        "有没有",
        "有",
        "没有",
        "会",
        "要",
        "想",
        "应该",
        "能",
        "可以",
        "吗",
        "呢",
        "如果",
        "因为",
        "所以",
        "但是",
        "而且",
        "并且",
        "然后",
        "需要",
        "办",
        "规定",
        "问题",
        "情况",
        "相关",
        "有关",
        "进行",
        "这个",
        "那个",
        "这些",
        "那些",
        "以及",
        "通过",
        "按照",
        "根据",
        "关于",
        "知道",
        "告诉",
    ]
)

_TOKEN_OK = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|\n+")
_tokenizer_lock = threading.Lock()


@lru_cache(maxsize=1)
def _tokenizer() -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    with _tokenizer_lock:
        tokenizer.initialize()
        for path in sorted(_user_dicts(USER_DICT_DIR)):
            tokenizer.load_userdict(str(path))
    return tokenizer


def _user_dicts(folder: Path) -> Iterable[Path]:
    return folder.glob("*.txt") if folder.is_dir() else ()


def normalise(text: str) -> str:
    """Full-width to half-width and lower case, as both index and query see text."""
    return unicodedata.normalize("NFKC", text).lower()


def tokens(text: str) -> list[str]:
    """BM25 tokens: jieba search-mode words (long words and their parts), no stopwords."""
    words = _tokenizer().lcut_for_search(normalise(text))
    return [
        w for w in (w.strip() for w in words) if w and _TOKEN_OK.search(w) and w not in STOPWORDS
    ]


def highlight_terms(text: str) -> list[str]:
    """The words of a query worth marking in a snippet: no single characters, longest first."""
    terms = {t for t in tokens(text) if len(t) > 1}
    return sorted(terms, key=len, reverse=True)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def chunk(text: str, max_chars: int) -> list[str]:
    """Sentence-aligned pieces of at most ``max_chars`` (a longer sentence is cut hard)."""
    pieces: list[str] = []
    current = ""
    for sentence in sentences(text):
        while len(sentence) > max_chars:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:max_chars])
            sentence = sentence[max_chars:]
        if current and len(current) + len(sentence) > max_chars:
            pieces.append(current)
            current = ""
        current += sentence
    if current:
        pieces.append(current)
    return pieces


def snippet(
    body: str, terms: list[str], width: int = 120
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The window of ``body`` that holds the most query terms, and where they are in it.

    Spans are character offsets into the returned snippet, so any client can render the
    marks its own way (the API also renders them as escaped HTML).
    """
    text = " ".join(body.split())
    folded = normalise(text)
    positions = sorted(
        (
            (m.start(), m.start() + len(term))
            for term in terms
            for m in re.finditer(re.escape(term), folded)
        ),
        key=lambda span: (span[0], span[0] - span[1]),
    )
    start = 0
    if len(text) > width and positions:
        best = max(
            range(len(positions)),
            key=lambda i: sum(
                1 for p in positions if positions[i][0] <= p[0] < positions[i][0] + width
            ),
        )
        start = max(0, min(positions[best][0] - width // 6, len(text) - width))
    end = min(len(text), start + width)
    window = text[start:end]
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    spans: list[tuple[int, int]] = []
    for a, b in positions:
        if a >= start and b <= end and not any(a < y and b > x for x, y in spans):
            spans.append((a, b))
    shift = len(prefix) - start
    spans = [(a + shift, b + shift) for a, b in spans]
    return prefix + window + suffix, tuple(sorted(spans))


def mark(
    snippet_text: str,
    spans: Iterable[tuple[int, int]],
    open_: str,
    close: str,
    escape: Callable[[str], str] = str,
) -> str:
    """``snippet_text`` with each span wrapped in ``open_``/``close``; text parts escaped."""
    out: list[str] = []
    last = 0
    for a, b in spans:
        out.append(escape(snippet_text[last:a]))
        out.append(open_ + escape(snippet_text[a:b]) + close)
        last = b
    out.append(escape(snippet_text[last:]))
    return "".join(out)
