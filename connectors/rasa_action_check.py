"""Rasa's check of an action server's answer, without re-checking the schema every time.

Runs inside the Rasa runtime (Python 3.10, rasa 3.6); the hotline channel installs it when
Rasa loads the channel (``HotlineInput.from_credentials``).

Why: Rasa 3.6 checks every answer of the action server with ``jsonschema.validate``, which
first validates the *schema itself* against the JSON Schema 2020-12 meta-schema (the
schema names no draft). With jsonschema 4.17 that costs about 50 ms of CPU per call, and a
turn makes one call per custom action (forms make several): a profile of Rasa at one
conversation (``py-spy``) put 60 % of its CPU there. The answer is checked here against the
same schema, with the same validator class and the same error, by a validator built once.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@cache
def _response_validator() -> Validator:
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)  # once, as ``jsonschema.validate`` does on every call
    validator: Validator = cls(schema)
    return validator


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """``RemoteAction._validate_action_result``, with the prepared validator."""
    error = best_match(_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response "
        "from the Action endpoint is valid. For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    """Idempotent; the schema is checked here, before the first turn waits for it."""
    _response_validator()
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
