"""The supervisor console's tables, beside the transcript in the project's database.

``conversation`` is a one-row-per-conversation summary kept up to date as turns are
written (see ``index``), so that listing and filtering 100,000 conversations never scans
the transcript. Its integer ``seq`` grows with each new conversation and is the key of
keyset pagination (``WHERE seq < :last ORDER BY seq DESC``), which costs the same on page
1 and page 2,000; numbers are never reused. Boolean filters have composite indexes ending in
``seq`` for the same reason. The full-text index lives in ``search`` (FTS5 on SQLite, tsvector on PostgreSQL).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from bot.storage import metadata

conversation_table = Table(
    "conversation",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(128), nullable=False, unique=True),
    Column("channel", String(32), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("started_day", Date, nullable=False),  # China Standard Time
    Column("last_at", DateTime(timezone=True), nullable=False),
    Column("turns", Integer, nullable=False, default=0),
    Column("citizen_turns", Integer, nullable=False, default=0),
    Column("first_message", Text, nullable=False, default=""),
    Column("last_status", String(32), nullable=False, default=""),
    Column("min_confidence", Float, nullable=True),
    Column("fallback", Boolean, nullable=False, default=False),
    Column("handoff_requested_at", DateTime(timezone=True), nullable=True),
    Column("handed_off", Boolean, nullable=False, default=False),
    Column("handoff_wait_s", Float, nullable=True),
    Column("workorder_no", String(32), nullable=True),
    Column("rating", Integer, nullable=True),  # 1 (very dissatisfied) … 5 (very satisfied)
    Column("reviewed", Boolean, nullable=False, default=False),
    Column("reviewed_by", String(64), nullable=True),
    Column("reviewed_at", DateTime(timezone=True), nullable=True),
    Column("flagged", Boolean, nullable=False, default=False),
    Column("anonymised", Boolean, nullable=False, default=False),
    Index("ix_conversation_started", "started_at"),
    Index("ix_conversation_day", "started_day"),
    Index("ix_conversation_last", "last_at"),
    Index("ix_conversation_channel_seq", "channel", "seq"),
    Index("ix_conversation_confidence", "min_confidence"),
    Index("ix_conversation_fallback_seq", "fallback", "seq"),
    Index("ix_conversation_handoff_seq", "handed_off", "seq"),
    Index("ix_conversation_workorder_seq", "workorder_no", "seq"),
    Index("ix_conversation_reviewed_seq", "reviewed", "seq"),
    Index("ix_conversation_flagged_seq", "flagged", "seq"),
    Index("ix_conversation_rating_seq", "rating", "seq"),
    # A deleted conversation's number is never given to a new one: audit entries and
    # links that name it must not come to point at someone else (see ``upgrade``).
    sqlite_autoincrement=True,
)

_SEQ = "conversation.seq"

conversation_intent_table = Table(
    "conversation_intent",
    metadata,
    Column("intent", String(64), nullable=False),
    Column("seq", Integer, ForeignKey(_SEQ, ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("intent", "seq"),
    Index("ix_conversation_intent_seq", "seq"),
)

conversation_tag_table = Table(
    "conversation_tag",
    metadata,
    Column("tag", String(32), nullable=False),
    Column("seq", Integer, ForeignKey(_SEQ, ondelete="CASCADE"), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tag", "seq"),
    Index("ix_conversation_tag_seq", "seq"),
)

conversation_note_table = Table(
    "conversation_note",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("seq", Integer, ForeignKey(_SEQ, ondelete="CASCADE"), nullable=False),
    Column("transcript_id", Integer, nullable=True),
    Column("author", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_conversation_note_seq", "seq", "id"),
)

nlu_correction_table = Table(
    "nlu_correction",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("transcript_id", Integer, nullable=False, unique=True),
    Column("seq", Integer, ForeignKey(_SEQ, ondelete="CASCADE"), nullable=False),
    Column("text", Text, nullable=False),
    Column("predicted_intent", String(64), nullable=True),
    Column("predicted_confidence", Float, nullable=True),
    Column("intent", String(64), nullable=False),
    Column("entities", JSON, nullable=False, default=list),
    Column("corrected_by", String(64), nullable=False),
    Column("corrected_at", DateTime(timezone=True), nullable=False),
    Column("exported_at", DateTime(timezone=True), nullable=True),
    Index("ix_nlu_correction_seq", "seq"),
    Index("ix_nlu_correction_intent", "intent"),
)

# Citizen messages the bot could not understand (fallback), for "top unanswered questions".
unanswered_table = Table(
    "unanswered_message",
    metadata,
    Column("transcript_id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, ForeignKey(_SEQ, ondelete="CASCADE"), nullable=False),
    Column("day", Date, nullable=False),
    Column("normalized", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Index("ix_unanswered_day_normalized", "day", "normalized"),
    Index("ix_unanswered_seq", "seq"),
)
