"""Personal data stays out of the logs when it arrives through an exception, as database
errors quote the statement's bound values."""

from __future__ import annotations

import json
import logging
import sys

from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from bot.logs import JsonFormatter

PHONE = "13812345678"
ID_NUMBER = "370102199003071238"


def test_a_database_error_in_the_log_shows_no_phone_or_id_number() -> None:
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE citizen (phone TEXT UNIQUE, id_number TEXT)"))
        insert = text("INSERT INTO citizen VALUES (:phone, :id_number)")
        conn.execute(insert, {"phone": PHONE, "id_number": ID_NUMBER})
        try:
            conn.execute(insert, {"phone": PHONE, "id_number": ID_NUMBER})
        except IntegrityError:
            record = logging.LogRecord(
                "bot.gateway", logging.ERROR, __file__, 1, "storage error", (), sys.exc_info()
            )
    line = JsonFormatter("gateway").format(record)
    entry = json.loads(line)
    assert "UNIQUE constraint failed" in entry["error"]  # the error itself is kept
    assert PHONE not in line and ID_NUMBER not in line
    assert "138****5678" in entry["error"]
