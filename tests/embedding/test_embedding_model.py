"""Loading and using the embedding model: prompts, meaning, one instance per process, CLI."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from bot.__main__ import main
from bot.embedding.convert import ensure_converted
from bot.embedding.model import encode_passages, encode_queries, load_embedding_model
from bot.settings import DEFAULT_EMBEDDING_MODEL, Settings


def test_model_is_loaded_once_per_process(
    embedding_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EMBEDDING_MODEL", raising=False)
    first = load_embedding_model(embedding_settings)
    started = time.perf_counter()
    assert load_embedding_model(Settings()) is first  # the default is the converted folder
    assert load_embedding_model(embedding_settings) is first
    assert time.perf_counter() - started < 0.05
    encode_queries(["预热"], embedding_settings)
    encode_passages(["预热"])  # settings from the environment: the same default
    assert load_embedding_model(embedding_settings) is first


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDDING_MODEL", "/srv/models/e5")
    monkeypatch.setenv("EMBEDDING_THREADS", "2")
    settings = Settings.from_env()
    assert (settings.embedding_model, settings.embedding_threads) == ("/srv/models/e5", 2)
    assert settings.to_env()["EMBEDDING_THREADS"] == "2"
    monkeypatch.delenv("EMBEDDING_MODEL")
    monkeypatch.delenv("EMBEDDING_THREADS")
    default = Settings.from_env()
    assert default.embedding_model == str(DEFAULT_EMBEDDING_MODEL)
    assert default.embedding_threads == 1


def test_named_prompts_are_the_e5_prefixes(embedding_settings: Settings) -> None:
    model = load_embedding_model(embedding_settings)
    assert model.prompts["query"] == "query: "
    assert model.prompts["passage"] == "passage: "
    text = "怎么办理居住证"
    by_prompt = encode_queries([text], embedding_settings)[0]
    by_hand = model.encode([f"query: {text}"], normalize_embeddings=True)[0]
    assert float(by_prompt @ by_hand) > 0.99999
    assert float(by_prompt @ encode_passages([text], embedding_settings)[0]) < 0.999


def test_a_chinese_query_is_closest_to_its_paraphrase(embedding_settings: Settings) -> None:
    query = encode_queries(["楼下烧烤店半夜还很吵，影响休息，怎么投诉"], embedding_settings)[0]
    passages = encode_passages(
        [
            "夜间餐饮店经营噪音扰民的投诉处理",
            "居民身份证到期换领需要携带的材料",
            "城市公交线路调整的公告",
        ],
        embedding_settings,
    )
    scores = passages @ query
    assert int(np.argmax(scores)) == 0
    assert scores[0] - max(scores[1:]) > 0.02


def test_vectors_are_unit_length_and_empty_input_is_empty(embedding_settings: Settings) -> None:
    vectors = encode_passages(["一", "二三四五六七八九十" * 100], embedding_settings)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encode_queries([], embedding_settings).shape == (0, 384)


def test_build_is_skipped_when_up_to_date(embedding_dir: Path) -> None:
    result = ensure_converted(embedding_dir)
    assert result.folder == embedding_dir
    assert not result.built
    assert result.seconds < 5


def test_build_refuses_to_replace_a_folder_it_did_not_write(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        ensure_converted(folder)
    assert (folder / "notes.txt").read_text() == "keep me"


def test_cli_build_reports_an_up_to_date_folder(
    embedding_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["embedding", "build", "--output", str(embedding_dir)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_cli_build_needs_an_output_for_a_hub_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EMBEDDING_MODEL", "intfloat/multilingual-e5-small")
    assert main(["embedding", "build"]) == 2
    assert "--output" in capsys.readouterr().out
