"""The action server can load the actions package and serves every action the domain names."""

from __future__ import annotations

import yaml
from rasa_sdk.executor import ActionExecutor

from bot.settings import PROJECT_ROOT


def test_every_custom_action_in_the_domain_is_served() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    custom = {
        name for name in domain.get("actions", []) if name.startswith(("action_", "validate_"))
    }
    assert custom <= set(executor.actions), custom - set(executor.actions)
