"""Chinese standard numbers (标准号): recognise them in free text and give each one canonical form.

Citizens, agents and catalogues write the same number in many ways: ``GB/T33358-2016``,
``gb/t 33358—2016``, full-width ``ＧＢ／Ｔ　３３３５８－２０１６``, ``GBT 33358``, ``国标33358``,
``DB37T 4560``, ``DB12/ 684-2016`` or ``T/CSGF T/CSGF024—2023``. Everything downstream (the
store's lookup key, exact-number search, the obsolete-version check) works on the canonical
form produced here, so a lookup never depends on how the number was typed.

The version-independent identity is ``match_key``: prefix family plus the code with leading
zeros dropped, e.g. ``GB 33358`` for GB/T 33358-2016, GB 33358 and 国标33358 alike, because
mandatory (GB), recommended (GB/T) and guidance (GB/Z) national standards share one sequence
of numbers and a standard keeps its number when it moves between them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

# Industry standard codes (行业标准代号) and the construction codes that carry no /T.
# Only these are recognised in free text, so ordinary words and work-order numbers
# (GD2026…) are never mistaken for standards.
INDUSTRY_CODES = frozenset(
    [
        "AQ",
        "BB",
        "CB",
        "CH",
        "CJ",
        "CY",
        "DA",
        "DL",
        "DZ",
        "EJ",
        "FZ",
        "GA",
        "GC",
        "GH",
        "GM",
        "GY",
        "HB",
        "HG",
        "HJ",
        "HS",
        "HY",
        "JB",
        "JC",
        "JG",
        "JR",
        "JT",
        "JY",
        "LB",
        "LD",
        "LS",
        "LY",
        "MH",
        "MT",
        "MZ",
        "NB",
        "NY",
        "QB",
        "QC",
        "QJ",
        "QX",
        "RB",
        "SB",
        "SC",
        "SF",
        "SH",
        "SJ",
        "SL",
        "SN",
        "SW",
        "SY",
        "TB",
        "TD",
        "TY",
        "WB",
        "WH",
        "WJ",
        "WM",
        "WS",
        "WW",
        "XB",
        "XF",
        "YB",
        "YC",
        "YD",
        "YJ",
        "YS",
        "YY",
        "YZ",
        "ZY",
        "JGJ",
        "CJJ",
        "GBJ",
        "TSG",
        "CECS",
    ]
)

_DASHES = "‐‑‒–—―−－﹣﹘~～_"
_DASH_RE = re.compile(f"[{re.escape(_DASHES)}]+|-{{2,}}")
_SPACE_RE = re.compile(r"\s+")
_CODES = "|".join(sorted(INDUSTRY_CODES | {"GB"}, key=len, reverse=True))


def _code(name: str) -> str:
    return rf"(?P<{name}>\d{{1,6}}(?:\.\d{{1,4}}){{0,2}})(?!\.?\d)"


def _edition(name: str) -> str:
    return rf"(?:\s?-\s?(?P<{name}>\d{{4}}|\d{{2}})(?!\d))?"


_PATTERN = re.compile(
    rf"""
    (?<![A-Z0-9])
    (?:
        DB\s?(?P<db>\d{{2}}(?:\d{{2}}){{0,2}})\s?(?:/\s?(?P<db_kind>[TZ])?|(?P<db_kind2>[TZ]))?
          \s?{_code("db_code")}{_edition("db_year")}
      | (?P<tq>[TQ])\s?/\s?(?P<org>[A-Z]{{1,12}})\s?(?:(?P=tq)\s?/\s?(?P=org)\s?)?
          (?P<org_code>[A-Z]{{0,6}}\d{{1,6}}(?:[.-]\d{{1,4}}){{0,3}})(?!\.?\d){_edition("org_year")}
      | (?P<ind>{_CODES})\s?(?:/\s?(?P<kind>[TZ])|(?P<kind2>[TZ])(?=\s?\d))?
          \s?{_code("ind_code")}{_edition("ind_year")}
    )
    """,
    re.VERBOSE,
)

_TRAILING_YEAR = re.compile(r"-((?:19|20)\d{2})$")

# "国标33358", "国家标准 33358", "推荐性国标33358": the family is known, the prefix is not.
_CHINESE_PATTERN = re.compile(
    r"(?P<word>推荐性国家标准|推荐性国标|强制性国家标准|强制性国标|国家标准|国标)\s?(?:第\s?)?"
    r"(?P<code>\d{3,6}(?:\.\d{1,4})?)(?!\.?\d)(?:\s?-\s?(?P<year>\d{4}|\d{2})(?!\d))?"
)
_CHINESE_PREFIX = {
    "推荐性国家标准": "GB/T",
    "推荐性国标": "GB/T",
    "强制性国家标准": "GB",
    "强制性国标": "GB",
    "国家标准": "",
    "国标": "",
}

TYPE_NATIONAL = "国家标准"
TYPE_INDUSTRY = "行业标准"
TYPE_LOCAL = "地方标准"
TYPE_GROUP = "团体标准"
TYPE_ENTERPRISE = "企业标准"


@dataclass(frozen=True)
class StandardNumber:
    """One parsed standard number.

    ``prefix`` is empty when only the family is known (``国标33358``); ``year`` is ``None``
    when the text named no edition.
    """

    family: str
    prefix: str
    code: str
    year: str | None

    @property
    def canonical(self) -> str:
        prefix = self.prefix or self.family
        head = f"{prefix}{self.code}" if prefix.endswith("/") else f"{prefix} {self.code}"
        return f"{head}-{self.year}" if self.year else head

    @property
    def match_key(self) -> str:
        """The identity shared by every edition and every way of writing the number."""
        return f"{self.family} {_strip_zeros(self.code)}"

    @property
    def standard_type(self) -> str:
        """国家标准 / 行业标准 / 地方标准 / 团体标准 / 企业标准, as implied by the prefix."""
        if self.family == "GB" or self.family == "GBJ":
            return TYPE_NATIONAL
        if self.family.startswith("DB"):
            return TYPE_LOCAL
        if self.family.startswith("T/"):
            return TYPE_GROUP
        if self.family.startswith("Q/"):
            return TYPE_ENTERPRISE
        return TYPE_INDUSTRY

    def same_edition(self, other: StandardNumber) -> bool:
        return self.match_key == other.match_key and self.year == other.year

    def __str__(self) -> str:
        return self.canonical


def clean_text(text: str) -> str:
    """Full-width to half-width, every dash to ``-``, upper case, runs of space to one."""
    folded = unicodedata.normalize("NFKC", text).upper()
    return _SPACE_RE.sub(" ", _DASH_RE.sub("-", folded))


def find_standard_numbers(text: str) -> list[StandardNumber]:
    """Every standard number in ``text``, in order of appearance, without duplicates."""
    cleaned = clean_text(text)
    found: list[tuple[int, StandardNumber]] = []
    taken: list[tuple[int, int]] = []
    for match in _PATTERN.finditer(cleaned):
        found.append((match.start(), _from_match(match)))
        taken.append(match.span())
    for match in _CHINESE_PATTERN.finditer(cleaned):
        if any(start <= match.start("code") < end for start, end in taken):
            continue
        prefix = _CHINESE_PREFIX[match.group("word")]
        found.append(
            (
                match.start(),
                StandardNumber("GB", prefix, match.group("code"), _year(match.group("year"))),
            )
        )
    unique: dict[str, StandardNumber] = {}
    for _, number in sorted(found, key=lambda item: item[0]):
        unique.setdefault(number.canonical, number)
    return list(unique.values())


def parse_standard_number(text: str) -> StandardNumber | None:
    """The first standard number in ``text``, or ``None``."""
    numbers = find_standard_numbers(text)
    return numbers[0] if numbers else None


def normalise_standard_number(text: str) -> str | None:
    """The canonical spelling of the first number in ``text`` (``GB/T 33358-2016``)."""
    number = parse_standard_number(text)
    return number.canonical if number else None


def _from_match(match: re.Match[str]) -> StandardNumber:
    groups = match.groupdict()
    if groups["db"]:
        family = f"DB{groups['db']}"
        kind = groups["db_kind"] or groups["db_kind2"]
        # Mandatory local standards are written DB37/2376-2019: the slash stays.
        prefix = f"{family}/{kind}" if kind else f"{family}/"
        return StandardNumber(family, prefix, groups["db_code"], _year(groups["db_year"]))
    if groups["tq"]:
        family = f"{groups['tq']}/{groups['org']}"
        code, year = groups["org_code"], groups["org_year"]
        # Group codes may contain dashes (TG06-011.3—2023): the edition is the trailing year.
        trailing = _TRAILING_YEAR.search(code)
        if year is None and trailing:
            code, year = code[: trailing.start()], trailing.group(1)
        return StandardNumber(family, family, code, _year(year))
    family = groups["ind"]
    kind = groups["kind"] or groups["kind2"]
    prefix = f"{family}/{kind}" if kind else family
    return StandardNumber(family, prefix, groups["ind_code"], _year(groups["ind_year"]))


def _year(raw: str | None) -> str | None:
    """Four-digit year; two-digit years (GB 3095-82) are read as the most recent such year."""
    if raw is None:
        return None
    if len(raw) == 4:
        return raw
    this_year = date.today().year % 100
    return f"{'20' if int(raw) <= this_year else '19'}{raw}"


def _strip_zeros(code: str) -> str:
    return re.sub(r"(?<![\d])0+(?=\d)", "", code)
