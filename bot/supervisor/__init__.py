"""The supervisor console's domain: conversation review, NLU corrections, metrics, retention.

Knows nothing about HTTP; ``bot.gateway.supervisor`` is the web side.
"""
