"""Cleaning of citizen input and masking of personal data."""

from __future__ import annotations

from bot.conversation.input import EMOJI_REPLY, EMPTY_REPLY, clean_citizen_text
from bot.privacy import mask_personal_data


def test_empty_and_whitespace_get_a_prompt() -> None:
    for raw in ("", "   ", "\n\t\u3000", "\x00\x01\x1f"):
        result = clean_citizen_text(raw, 2000)
        assert result.rejection == EMPTY_REPLY
        assert result.reason == "empty"


def test_control_characters_are_removed_and_text_kept() -> None:
    result = clean_citizen_text("小区\x00噪音\x07太大\u200b了", 2000)
    assert result.rejection is None
    assert result.text == "小区噪音太大了"


def test_full_width_characters_are_normalised() -> None:
    assert clean_citizen_text("ＧＢ／Ｔ　３３３５８", 2000).text == "GB/T 33358"


def test_too_long_message_is_refused_politely_with_the_limit() -> None:
    result = clean_citizen_text("噪" * 20_000, 2000)
    assert result.reason == "too_long"
    assert result.rejection is not None and "2000" in result.rejection
    assert len(result.text) == 2000


def test_emoji_only_gets_a_polite_reply() -> None:
    for raw in ("😀😀😀", "👍", "🙏 🙏"):
        result = clean_citizen_text(raw, 2000)
        assert result.rejection == EMOJI_REPLY, raw


def test_emoji_with_words_goes_through() -> None:
    assert clean_citizen_text("谢谢👍", 2000).rejection is None


def test_personal_data_is_masked() -> None:
    # A valid check character (GB 11643) and a valid Luhn digit: see tests/supervisor for more.
    text = "我电话13812345678，身份证370102199003071238，卡号6222021234567890128，座机0531-88886666"
    masked = mask_personal_data(text)
    assert "13812345678" not in masked and "138****5678" in masked
    assert "370102199003071238" not in masked and "370102********1238" in masked
    assert "6222021234567890128" not in masked
    assert "88886666" not in masked
    assert mask_personal_data("工单GD2026112900012") == "工单GD2026112900012"
