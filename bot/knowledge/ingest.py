"""Importing a file into the knowledge base: read, check, upsert what changed, embed it.

Re-importing is incremental: entries whose content hash is unchanged are left alone, and
of the changed ones only passages whose text changed lose their vectors, so only those are
sent through the embedding model again.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from bot.knowledge.embedder import Embedder
from bot.knowledge.engine import embed_missing
from bot.knowledge.importers.catalogue import CATALOGUE_FORMATS, read_catalogue
from bot.knowledge.importers.documents import DOCUMENT_FORMATS, DocumentError, read_document
from bot.knowledge.importers.ledger import import_digest, last_import, remember_import
from bot.knowledge.importers.report import ImportReport
from bot.knowledge.models import Entry, KnowledgePoint, Provenance, Standard
from bot.knowledge.numbers import find_standard_numbers, parse_standard_number
from bot.knowledge.store import KnowledgeStore
from bot.settings import PROJECT_ROOT, Settings

FORMATS = CATALOGUE_FORMATS + DOCUMENT_FORMATS
SEED_FILES = (
    PROJECT_ROOT / "data" / "knowledge" / "standards.jsonl",
    PROJECT_ROOT / "data" / "knowledge" / "knowledge_points.jsonl",
)
_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "xlsx",
    ".txt": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".docx": "docx",
    ".pdf": "pdf",
}


@dataclass(frozen=True)
class ImportOptions:
    """How to read a file. Document fields apply to TXT/MD/HTML/DOCX/PDF only."""

    format: str | None = None
    kind: str = "auto"
    mapping: dict[str, str] = field(default_factory=dict)
    prune: bool = False
    progress: bool = False
    standard: str | None = None
    entry_id: str | None = None
    title: str | None = None
    category: str = ""
    issuer: str = ""
    department: str = ""
    material_type: str = "文件全文"
    source: str | None = None
    # Skip a file imported before exactly as it is now (``importers/ledger.py``).
    skip_unchanged: bool = False

    def shaping(self) -> dict[str, object]:
        """The options that decide what entries a file becomes (not how it is reported)."""
        values = asdict(self)
        del values["progress"], values["skip_unchanged"]
        return values


def detect_format(path: Path, explicit: str | None) -> str:
    if explicit:
        if explicit not in FORMATS:
            raise ValueError(f"不支持的格式“{explicit}”，可选：{'、'.join(FORMATS)}")
        return explicit
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"无法从扩展名判断格式：{path.name}（请用 --format 指定）")
    return fmt


def read_file(
    path: Path, store: KnowledgeStore, options: ImportOptions
) -> tuple[list[Entry], ImportReport]:
    """The entries a file holds and the report of its bad rows; nothing is written.

    The console's dry run shows this before anyone publishes.
    """
    fmt = detect_format(path, options.format)
    report = ImportReport(_origin(path), fmt)
    if not path.is_file():
        report.error(None, "文件不存在")
        return [], report
    if fmt in CATALOGUE_FORMATS:
        entries = read_catalogue(
            path, fmt, report, options.kind, options.mapping, progress=options.progress
        )
    else:
        entries = _document_entries(path, fmt, store, options, report)
    return [_with_provenance(entry, path.name) for entry in entries], report


def import_file(
    path: Path, store: KnowledgeStore, embedder: Embedder | None, options: ImportOptions
) -> ImportReport:
    """Reads, upserts and embeds a file; with ``skip_unchanged`` a file imported before just
    as it is now is not read at all (the embedder, if lazy, is never loaded)."""
    digest = import_digest(path, options.shaping()) if path.is_file() else None
    if options.skip_unchanged and digest is not None:
        last = last_import(store, _origin(path))
        if last is not None and last[0] == digest:
            report = ImportReport(_origin(path), detect_format(path, options.format))
            report.skipped_since = last[1]
            return report
    entries, report = read_file(path, store, options)
    if digest is None:
        return report
    origin = report.path
    if entries:
        result = store.upsert(entries, origin)
        report.added, report.updated, report.unchanged = (
            result.added,
            result.updated,
            result.unchanged,
        )
    if options.prune:
        if report.errors:
            report.warning(None, "本次导入有错误行，为避免误删，未清理文件中已不存在的条目")
        else:
            stale = store.ids_from_origin(origin) - {e.id for e in entries}
            store.delete(stale)
            report.removed = sorted(stale)
    if embedder is not None:
        report.embedded = embed_missing(store, embedder, progress=options.progress)
        remember_import(store, origin, digest)
    return report


def seed(
    store: KnowledgeStore,
    embedder: Embedder | None,
    progress: bool = False,
    skip_unchanged: bool = False,
) -> list[ImportReport]:
    """Imports the starter corpus shipped in data/knowledge; running it twice changes nothing."""
    options = ImportOptions(prune=True, progress=progress, skip_unchanged=skip_unchanged)
    return [import_file(path, store, embedder, options) for path in SEED_FILES]


def seed_store(
    settings: Settings,
    embedder: Embedder | None,
    progress: bool = False,
    skip_unchanged: bool = False,
) -> list[ImportReport]:
    """:func:`seed` into the store the settings name (``python -m bot kb seed``, and a
    benchmark's fresh stack before it starts)."""
    store = KnowledgeStore.from_settings(settings)
    try:
        return seed(store, embedder, progress, skip_unchanged)
    finally:
        store.close()


def _document_entries(
    path: Path, fmt: str, store: KnowledgeStore, options: ImportOptions, report: ImportReport
) -> list[Entry]:
    report.rows = 1
    try:
        document = read_document(path, fmt)
    except DocumentError as exc:
        report.error(None, str(exc))
        return []
    except OSError as exc:
        report.error(None, f"无法读取文件：{exc.strerror or exc}")
        return []
    sections = tuple(document.sections)
    title = options.title or document.title
    target = _standard_for(options.standard, f"{title} {path.stem}", store, report)
    if options.standard and target is None:
        return []
    if target is not None:
        return [replace(target, sections=sections)]
    return [
        KnowledgePoint(
            id=options.entry_id or f"doc:{_slug(path.stem)}",
            title=title,
            content=document.text,
            category=options.category,
            issuer=options.issuer,
            material_type=options.material_type,
            department=options.department,
            source=options.source or path.name,
            sections=sections,
        )
    ]


def _standard_for(
    explicit: str | None, text: str, store: KnowledgeStore, report: ImportReport
) -> Standard | None:
    """The standard a full text belongs to: named with --standard, or by its title."""
    if explicit:
        number = parse_standard_number(explicit)
        found = store.get(f"std:{number.canonical}") if number else None
        if not isinstance(found, Standard):
            report.error(None, f"知识库中没有标准“{explicit}”，请先导入它的目录信息")
            return None
        return found
    for number in find_standard_numbers(text):
        found = store.get(f"std:{number.canonical}")
        if isinstance(found, Standard):
            return found
    return None


def _with_provenance(entry: Entry, file_name: str) -> Entry:
    """An imported record names where it came from; it stays unverified until checked."""
    if entry.provenance != Provenance():
        return entry
    document = entry.source or file_name
    return replace(entry, provenance=Provenance(document=document, issuer=entry.issuer))


def _origin(path: Path) -> str:
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(resolved)


def _slug(name: str) -> str:
    return re.sub(r"[^\w\u4e00-\u9fff.-]+", "-", name).strip("-")[:120] or "document"
