"""What each file was when it was last imported, so that importing it again unchanged is free.

``make run`` imports the starter corpus and the standards catalogue before every start.
Reading the rows takes a second; checking them needs the embedding model, and loading it
costs tens of seconds on a busy machine. A file is skipped when its bytes, the import
options and the code that turns rows into entries (every module below is hashed, so a
changed reader re-imports by itself) are all as they were at the last import that
finished with its passages embedded. The ledger lives in the store's database, so a new
or emptied store has none and imports everything.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.clock import as_utc, utcnow
from bot.knowledge.store import KnowledgeStore, metadata

_KNOWLEDGE = Path(__file__).resolve().parent.parent
# The code that decides what entries and passages a file becomes.
_READER_CODE = (
    *sorted((_KNOWLEDGE / "importers").glob("*.py")),
    *(_KNOWLEDGE / f"{name}.py" for name in ("ingest", "models", "numbers", "passages", "text")),
)

imports_table = sa.Table(
    "kb_imports",
    metadata,
    sa.Column("origin", sa.String(1000), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)


def import_digest(path: Path, options: dict[str, Any]) -> str:
    """The file's bytes, the options that shape its entries and the reader code, hashed."""
    digest = hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode())
    for source in _READER_CODE:
        digest.update(source.read_bytes())
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def last_import(store: KnowledgeStore, origin: str) -> tuple[str, datetime] | None:
    """The digest and time of ``origin``'s last complete import, if the store has one."""
    imports_table.create(store.engine, checkfirst=True)
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.select(imports_table.c.digest, imports_table.c.at).where(
                imports_table.c.origin == origin
            )
        ).first()
    return (row.digest, as_utc(row.at)) if row is not None else None


def remember_import(store: KnowledgeStore, origin: str, digest: str) -> None:
    imports_table.create(store.engine, checkfirst=True)
    with store.engine.begin() as conn:
        conn.execute(imports_table.delete().where(imports_table.c.origin == origin))
        conn.execute(imports_table.insert().values(origin=origin, digest=digest, at=utcnow()))
