"""Search tokens for Chinese text that work the same on SQLite FTS5 and PostgreSQL.

Neither engine segments Chinese words, and a dictionary segmenter (jieba) splits the same
phrase differently in a query and in a document. Overlapping character bigrams need no
dictionary and always agree: 路灯不亮 → 路灯 灯不 不亮. Letters and digits keep whole
runs (GB/T 33358 → gb t 33358). The stored document and the query are both token lists
joined by spaces, so each engine only has to split on whitespace. A mobile number written
with separators or +86 (139-1234-5678) also gets its 11 digits as a token, and a query
for a number in any form asks for those digits, so every spelling finds every other.
"""

from __future__ import annotations

import re
import unicodedata

from bot.privacy import canonical_mobiles, mobile_numbers

_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
MAX_QUERY_TOKENS = 16


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def tokens(text: str) -> list[str]:
    out: list[str] = []
    for run in _RUNS.findall(normalise(text)):
        if _CJK.match(run):
            if len(run) == 1:
                out.append(run)
            else:
                out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out


def document(text: str) -> str:
    """The text as stored in the search index."""
    found = tokens(text)
    return " ".join(found + [n for n in mobile_numbers(normalise(text)) if n not in found])


def query_tokens(text: str) -> list[str]:
    """Distinct tokens of a query, in order, capped so a pasted essay stays cheap."""
    seen: dict[str, None] = {}
    for token in tokens(canonical_mobiles(normalise(text))):
        seen.setdefault(token, None)
    return list(seen)[:MAX_QUERY_TOKENS]


def is_prefix_token(token: str) -> bool:
    """A lone Chinese character is searched as the start of a bigram (灯 → 灯泡, 灯不)."""
    return len(token) == 1 and _CJK.match(token) is not None
