"""What the gateway hears of a Rasa turn: the actions run and the responses they uttered,
so that a turn counts as misunderstood only when "没有完全理解" was said.

``connectors/rasa_channel.py`` runs inside the Rasa runtime, so it is tried there."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from bot.console.index import is_fallback as counted_in_console
from bot.conversation import Understanding
from bot.handoff.gate import is_fallback
from bot.settings import PROJECT_ROOT

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"

_SCRIPT = """
import json
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from connectors.rasa_channel import turn_details

def turn(intent, *done):
    events = [ActionExecuted("action_listen"), UserUttered("……", {"name": intent})]
    for name, uttered in done:
        events.append(ActionExecuted(name))
        if uttered:
            events.append(BotUttered("……", metadata={"utter_action": uttered}))
    events.append(ActionExecuted("action_listen"))
    return turn_details(DialogueStateTracker.from_events("c", events))["actions"]

print(json.dumps({
    "unclear": turn("nlu_fallback", ("action_handle_unclear", "utter_default")),
    "taken_up": turn("nlu_fallback", ("action_handle_unclear", None), ("workorder_form", None)),
    "greeted": turn("greet", ("utter_greet", "utter_greet")),
}))
"""


@pytest.fixture(scope="module")
def reported() -> dict[str, list[str]]:
    if not RASA_PYTHON.exists():
        pytest.skip("the Rasa runtime (.venv-rasa) is not installed")
    done = subprocess.run(
        [str(RASA_PYTHON), "-c", _SCRIPT],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_custom_actions_responses_are_reported_among_the_actions(
    reported: dict[str, list[str]],
) -> None:
    assert reported["unclear"] == ["action_handle_unclear", "utter_default"]
    assert reported["taken_up"] == ["action_handle_unclear", "workorder_form"]
    assert reported["greeted"] == ["utter_greet"]  # run as an action: reported once


def test_only_the_default_reply_counts_as_misunderstood(
    reported: dict[str, list[str]],
) -> None:
    for name, counts in (("unclear", True), ("taken_up", False), ("greeted", False)):
        understanding = Understanding(intent="nlu_fallback", actions=tuple(reported[name]))
        assert is_fallback(understanding) is counts, name
        nlu = {"intent": "nlu_fallback", "actions": reported[name]}
        assert counted_in_console(nlu) is counts, name
