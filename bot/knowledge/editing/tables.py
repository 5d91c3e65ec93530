"""The editing tables, declared on the knowledge store's metadata (one database)."""

from __future__ import annotations

import sqlalchemy as sa

from bot.knowledge.store import metadata

records_table = sa.Table(
    "kb_records",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("category", sa.Text, nullable=False, default=""),
    sa.Column("department", sa.Text, nullable=False, default=""),
    sa.Column("search_text", sa.Text, nullable=False, default=""),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("live_version", sa.Integer),
    sa.Column("live_hash", sa.String(64)),
    sa.Column("editor", sa.String(64), nullable=False),
    sa.Column("submitted_by", sa.String(64)),
    sa.Column("verified", sa.Boolean, nullable=False, default=False),
    sa.Column("review_due", sa.Date, index=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

versions_table = sa.Table(
    "kb_versions",
    metadata,
    sa.Column("record_id", sa.String(255), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("note", sa.Text, nullable=False, default=""),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

# The workflow's own trail (submitted, published, rejected, withdrawn), beside the versions.
events_table = sa.Table(
    "kb_record_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("record_id", sa.String(255), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("note", sa.Text, nullable=False, default=""),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

flags_table = sa.Table(
    "kb_flags",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("record_id", sa.String(255), index=True),
    sa.Column("reason", sa.String(16), nullable=False),
    sa.Column("comment", sa.Text, nullable=False, default=""),
    sa.Column("question", sa.Text, nullable=False, default=""),
    sa.Column("answer", sa.Text, nullable=False, default=""),
    sa.Column("reporter", sa.String(64), nullable=False),
    sa.Column("conversation_id", sa.String(128)),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolved_by", sa.String(64)),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
)
