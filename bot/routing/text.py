"""Turning a citizen's message into the terms routing compares.

Two kinds of term: jieba words (meaningful units such as 物业费, 公积金) and character
bigrams (which survive jieba's mistakes on colloquial or garbled text and on masked
place names such as ``****小区``). A private jieba tokenizer is used so that the
catalogue's vocabulary added here does not change how other parts of the assistant cut text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import jieba

_MASK = re.compile(r"[*＊]+")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_WORD = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9]+")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words and hotline formulae that say nothing about which unit handles a matter.
_STOP_WORDS = _words(
    """
    的 了 是 我 你 他 她 它 在 有 和 与 及 或 就 不 都 也 很 到 说 要 去 会 着 被 把 给 让 对 从
    这 那 啥 吗 呢 吧 啊 呀 哦 嘛 么 之 其 而 但 又 还 并 再 才 为 以 于 等 个 些 一 上 下 里 中
    我们 你们 他们 我家 本人 自己 大家 这个 那个 这些 那些 这里 那里 这样 那样 什么 怎么 怎样
    如何 为什么 请问 您好 你好 领导 尊敬 谢谢 感谢 麻烦 希望 请求 要求 问题 情况 相关 有关 部门
    能否 能不能 可以 是否 一下 已经 现在 目前 一直 还是 没有 现象 反映 反应 咨询 投诉 建议 举报
    帮助 解决 处理 进行 导致 造成 因为 所以 如果 但是 而且 以及 通过 关于 其他 一个 多次 长期
    市民 居民 群众 老百姓 政府 单位 工作 工作人员 时间 每天 经常 非常 严重 影响 市长 书记 区长
    直接 突然 提前 及时 所有 全部 很多 特别 不能 不给 不是 没法 还有 只有 以后 之后 然后 今天 昨天
    """
)

# Words that occur in requests to every department ("如何办理…", "申请…的材料"): as words or
# bigrams they would pull every question towards whichever matter happens to contain them.
_GENERIC = _words(
    """
    办理 申请 需要 哪些 什么 可以 是否 如何 怎么 处理 规定 标准 材料 手续 流程 服务 管理 部门
    单位 时间 问题 情况 相关 有关 方式 渠道 程序 办法 条件 进行 提供 查询 咨询 业务 信息 一下
    """
)

_tokenizer: jieba.Tokenizer | None = None


def normalise(text: str) -> str:
    """Lower-case, without whitespace and privacy masks (``138****`` → ``138``)."""
    return _MASK.sub("", "".join(text.split())).lower()


def tokenizer(vocabulary: Iterable[str] = ()) -> jieba.Tokenizer:
    """The routing tokenizer, created once per process; ``vocabulary`` joins its dictionary."""
    global _tokenizer
    if _tokenizer is None:
        jieba.setLogLevel(logging.WARNING)
        _tokenizer = jieba.Tokenizer()
        _tokenizer.initialize()
    for word in vocabulary:
        if len(word) >= 2:
            _tokenizer.add_word(word, freq=20000)
    return _tokenizer


def terms(text: str) -> list[str]:
    """Words and character bigrams of ``text`` (already normalised), stop words removed."""
    words = [
        word
        for word in tokenizer().lcut(text)
        if _WORD.fullmatch(word)
        and word not in _STOP_WORDS
        and word not in _GENERIC
        and not word.isdigit()
    ]
    bigrams = [
        run[i : i + 2]
        for run in _CJK_RUN.findall(text)
        for i in range(len(run) - 1)
        if (run[i] not in _STOP_WORDS or run[i + 1] not in _STOP_WORDS)
        and run[i : i + 2] not in _STOP_WORDS
        and run[i : i + 2] not in _GENERIC
    ]
    return [*(f"w:{word}" for word in words), *(f"b:{bigram}" for bigram in bigrams)]
