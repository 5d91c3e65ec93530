"""Checks that come before anything else: emergencies and matters outside 12345's remit."""

from bot.safety.emergency import Emergency, detect_emergency, emergency_reply
from bot.safety.out_of_scope import OutOfScope, detect_out_of_scope, out_of_scope_reply

__all__ = [
    "Emergency",
    "OutOfScope",
    "detect_emergency",
    "detect_out_of_scope",
    "emergency_reply",
    "out_of_scope_reply",
]
