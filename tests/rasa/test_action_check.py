"""Rasa checks every answer of the action server against its schema: the check installed
by the hotline channel (``connectors/rasa_action_check.py``) accepts and refuses what
Rasa's own does, without re-checking the schema on each call. Tried in the Rasa runtime."""

from __future__ import annotations

import json
import os
import subprocess

from bot.settings import PROJECT_ROOT

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"

_SCRIPT = """
import json
import jsonschema
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from connectors import rasa_action_check

good = {"events": [{"event": "slot", "name": "phone", "value": "138****0000"}],
        "responses": [{"text": "好的，请问您的联系电话是？"}]}
bad = {"events": [{"name": "phone"}], "responses": []}  # an event without its type
action = RemoteAction("action_x", None)

def outcome(answer):
    try:
        return action._validate_action_result(answer)
    except jsonschema.ValidationError as error:
        return "refused: " + error.message

# Counts the checks of the schema itself (the 50 ms part of each stock call).
cls = validator_for(RemoteAction.action_response_format_spec())
checks = []
original = cls.check_schema.__func__
cls.check_schema = classmethod(lambda c, schema, **kw: (checks.append(1), original(c, schema, **kw))[1])

def checked(answers):
    checks.clear()
    results = [outcome(a) for a in answers]
    return results, len(checks)

stock, stock_checks = checked([good, bad, good, good])
rasa_action_check.install()
ours, our_checks = checked([good, bad, good, good])
print(json.dumps({"stock": stock, "ours": ours, "checks": [stock_checks, our_checks]}))
"""


def test_the_installed_check_decides_as_rasa_does_and_cheaply() -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [str(RASA_PYTHON), "-c", _SCRIPT],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["stock"][0] is True and result["ours"][0] is True
    assert result["stock"][1].startswith("refused: 'event' is a required property")
    assert result["ours"][1].startswith("refused: 'event' is a required property")
    assert result["ours"] == result["stock"]
    # The stock check validates the schema against the 2020-12 meta-schema on every call
    # (about 50 ms of CPU each); ours did it once, when it was installed.
    assert result["checks"] == [4, 0]
