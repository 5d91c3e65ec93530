"""Thin Rasa custom actions; the logic they call lives in ``bot``.

rasa-sdk configures its own coloured logging before it imports this package, so the
project's JSON logging is installed here, where every action-server process passes.
"""

from bot.logs import configure_logging
from bot.settings import Settings

configure_logging("actions", Settings.from_env().log_level)
