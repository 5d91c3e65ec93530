"""Thin Rasa custom actions; the logic they call lives in ``bot``.

rasa-sdk imports every module here when it scans for actions (and so do the tests), so
nothing here reads settings or starts work at import: the shared resources are made on
first use (``actions.runtime``), and the action server's start-up is ``actions.server``.
"""
