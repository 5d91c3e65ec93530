"""The knowledge base as the centre edits it: versioned records, review, provenance, flags.

Search reads only ``kb_entries`` (``bot.knowledge.store``); this package keeps every
version of every record next to it, and a record reaches ``kb_entries`` only when a
reviewer other than its editor publishes it (and leaves it when withdrawn). Both live in
the knowledge store's database, so a publish writes the record and the searchable entry
with the same engine, and bumps the revision that every search process watches.
"""
