"""Thin Rasa custom actions; the logic they call lives in ``bot``."""
