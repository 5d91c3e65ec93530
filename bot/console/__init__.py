"""The supervisor console's domain: conversation review, NLU corrections, metrics, retention.

Knows nothing about HTTP; ``bot.gateway.console`` is the web side (under ``/console/``).
The commands are ``python -m bot console …`` (``supervisor`` is an old alias).
"""
