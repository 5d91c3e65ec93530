"""The China Standard Classification (CCS, 中国标准文献分类法) names for standards' codes.

The code lists ship in ``data/knowledge/ccs/`` under their BSD-2-Clause licence (from the
metanorma project); a standard's code becomes words an editor can search for (``A12`` →
供应与使用关系) and a readable label in the console.
"""

from __future__ import annotations

import csv
from functools import cache

from bot.settings import PROJECT_ROOT

CCS_DIR = PROJECT_ROOT / "data" / "knowledge" / "ccs"


@cache
def ccs_names() -> dict[str, str]:
    """Code → name for the 23 top classes, 224 groups (``A00/09``) and 1,607 codes."""
    names: dict[str, str] = {}
    for level in (1, 2, 3):
        path = CCS_DIR / f"ccs_codes_level{level}.csv"
        if not path.is_file():
            continue
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = csv.reader(handle)
            next(rows, None)
            for row in rows:
                if len(row) >= 2 and row[0].strip():
                    names[row[0].strip().upper()] = row[1].strip()
    return names


def ccs_label(code: str) -> str:
    """``A12 供应与使用关系（综合）``; the bare code when it is not in the list."""
    code = code.strip().upper()
    name = ccs_names().get(code)
    if not name:
        return code
    top = ccs_names().get(code[:1], "")
    return f"{code} {name}" + (f"（{top}）" if top and top != name else "")
