"""Imports and publishes at scale: an unchanged file is skipped without the model, a whole
import moves the revision once, a published edit carries its vectors, and a rebuilt index
tokenises only the passages that changed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from bot.knowledge import index as search_index
from bot.knowledge.editing.service import KnowledgeEditor
from bot.knowledge.embedder import Embedder, LazyEmbedder
from bot.knowledge.engine import KnowledgeBase
from bot.knowledge.index import Mode
from bot.knowledge.ingest import ImportOptions, import_file
from bot.knowledge.models import KnowledgePoint
from bot.knowledge.passages import passages_of
from bot.knowledge.store import KnowledgeStore

DIMENSION = 16


class HashEmbedder:
    """Unit vectors from each text's digest: instant, deterministic, and counted."""

    model_id = "hash-16"
    dimension = DIMENSION

    def __init__(self) -> None:
        self.passages = 0

    def encode_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._vectors(texts)

    def encode_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.passages += len(texts)
        return self._vectors(texts)

    @staticmethod
    def _vectors(texts: Sequence[str]) -> NDArray[np.float32]:
        rows = [
            np.frombuffer(hashlib.sha256(t.encode()).digest()[:DIMENSION], np.uint8) for t in texts
        ]
        vectors = np.asarray(rows, dtype=np.float32).reshape(len(texts), DIMENSION) + 1.0
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _never_loaded() -> Embedder:
    raise AssertionError("the model was loaded for an unchanged file")


def _catalogue(path: Path, count: int, changed: int | None = None) -> Path:
    rows = [
        {
            "id": f"kp-{i}",
            "title": f"问题{i}" + ("（已修改）" if i == changed else ""),
            "content": f"第{i}条知识的内容。",
        }
        for i in range(count)
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_an_unchanged_file_is_skipped_without_loading_the_model(
    tmp_path: Path, store: KnowledgeStore
) -> None:
    path = _catalogue(tmp_path / "kp.jsonl", 5)
    options = ImportOptions(skip_unchanged=True)
    model = HashEmbedder()
    first = import_file(path, store, LazyEmbedder(lambda: model), options)
    assert len(first.added) == 5 and first.embedded == 5 and first.skipped_since is None

    again = import_file(path, store, LazyEmbedder(_never_loaded), options)
    assert again.skipped_since is not None and not again.added + again.unchanged
    assert "没有变化，已跳过" in again.summary() and again.to_json()["skipped"] is True

    forced = import_file(path, store, model, ImportOptions())  # `--force`
    assert len(forced.unchanged) == 5 and forced.embedded == 0

    _catalogue(path, 5, changed=2)
    unembedded = import_file(path, store, None, options)  # `--no-embed` records nothing
    assert unembedded.updated == ["kp-2"]
    changed = import_file(path, store, model, options)
    assert changed.skipped_since is None and changed.embedded == 1 and model.passages == 6


def test_a_whole_import_moves_the_revision_once(tmp_path: Path, store: KnowledgeStore) -> None:
    """More rows than one upsert batch (500) and one embedding chunk (256): a search process
    swaps once for the rows and once for their vectors, not once per batch."""
    path = _catalogue(tmp_path / "kp.jsonl", 1200)
    before = store.revision()
    report = import_file(path, store, HashEmbedder(), ImportOptions())
    assert len(report.added) == 1200 and report.embedded == 1200
    assert store.revision() == before + 2
    assert store.passages_needing_embeddings(HashEmbedder.model_id) == []


def test_a_published_edit_carries_its_vectors(store: KnowledgeStore) -> None:
    editor = KnowledgeEditor(store)
    point = KnowledgePoint(id="kp-live", title="城市书房开放时间", content="每天九点至二十一点。")
    editor.save(point, "alice", creating=True)
    editor.submit(point.id, "alice")
    before = store.revision()
    editor.publish(point.id, "bob", date(2026, 12, 1), HashEmbedder())
    assert store.revision() == before + 1
    assert store.passages_needing_embeddings(HashEmbedder.model_id) == []


def test_a_rebuilt_index_tokenises_only_changed_passages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = HashEmbedder()
    points = [
        KnowledgePoint(id=f"kp-{i}", title=f"第{i}个事项", content=f"办理第{i}个事项需要身份证。")
        for i in range(20)
    ]

    def build(entries: list[KnowledgePoint], previous: KnowledgeBase | None) -> KnowledgeBase:
        passages = [p for entry in entries for p in passages_of(entry)]
        vectors = model.encode_passages([p.text for p in passages])
        return KnowledgeBase.from_rows(list(entries), passages, vectors, model, previous=previous)

    first = build(points, None)
    edited = [*points[:5], KnowledgePoint(id="kp-5", title="第5个事项", content="改为线上办理。")]
    edited += points[6:]
    tokenised: list[str] = []
    real_tokens = search_index.tokens
    monkeypatch.setattr(
        search_index, "tokens", lambda text: tokenised.append(text) or real_tokens(text)
    )
    second = build(edited, first)
    assert len(tokenised) == 1 and "改为线上办理" in tokenised[0]

    fresh = build(edited, None)
    for query in ("线上办理", "身份证 事项", "第7个事项"):
        words = real_tokens(query)
        assert np.allclose(second.index.bm25.scores(words), fresh.index.bm25.scores(words))
    assert second.search("改为线上办理", mode=Mode.BM25).hits[0].entry.id == "kp-5"
