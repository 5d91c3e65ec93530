"""The routing embedder encodes a citizen's message once, however often a turn asks."""

from __future__ import annotations

import pickle

import numpy as np

from bot.routing import embedder as embedder_module
from bot.routing.embedder import RECENT_MESSAGES, Embedder
from bot.settings import Settings


class CountingEmbedder(Embedder):
    """The e5 model's place taken by a counter: what matters is how often it is asked."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.encoded: list[str] = []

    def _encode(self, texts: list[str]) -> embedder_module.Vectors:
        self.encoded.extend(texts)
        return np.array([[float(len(t)), 1.0] for t in texts], dtype=np.float32)


def test_a_message_asked_for_four_times_is_encoded_once() -> None:
    embedder = CountingEmbedder(Settings())
    message = "我家楼下的饭店油烟太大了，晚上也不关门，已经反映过好几次了"
    vectors = [embedder([message]) for _ in range(4)]
    assert len(embedder.encoded) == 1
    assert all(v.shape == (1, 2) for v in vectors)
    assert all(np.array_equal(v, vectors[0]) for v in vectors)


def test_memory_is_bounded_and_not_pickled() -> None:
    embedder = CountingEmbedder(Settings())
    for i in range(RECENT_MESSAGES + 5):
        embedder([f"诉求{chr(0x4E00 + i)}"])
    embedder(["诉求一"])  # pushed out by newer messages: encoded again
    assert len(embedder.encoded) == RECENT_MESSAGES + 6
    assert embedder.encoded[0] == embedder.encoded[-1]
    restored = pickle.loads(pickle.dumps(embedder))
    assert "_recent_vectors" not in restored.__dict__


def test_a_batch_is_encoded_as_given() -> None:
    embedder = CountingEmbedder(Settings())
    embedder(["甲", "乙"])
    embedder(["甲", "乙"])
    assert len(embedder.encoded) == 4
