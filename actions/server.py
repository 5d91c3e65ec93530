"""The action server's start-up: ``python -m actions.server`` (what ``make run`` starts).

rasa-sdk's own entry point installs its coloured logging and offers no hook where the
process starts; its Sanic workers are separate processes. This entry point serves the same
app, plus a ``before_server_start`` listener that, in each worker, installs the project's
JSON logging and (with ``KB_PRELOAD=1``) starts loading search, so the first question does
not wait for it.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Any

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app_for_serve
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic
from sanic.worker.loader import AppLoader

from actions.runtime import knowledge, settings
from bot.logs import configure_logging


async def _start(app: Sanic[Any, Any], loop: Any) -> None:
    configure_logging("actions", settings().log_level)
    if settings().kb_preload:
        knowledge().preload()


def create_app(executor: ActionExecutor) -> Sanic[Any, Any]:
    """rasa-sdk's app with the project's start-up; module-level, as Sanic pickles it."""
    app: Sanic[Any, Any] = create_app_for_serve(executor)
    app.register_listener(_start, "before_server_start")
    return app


def main() -> None:
    configure_logging("actions", settings().log_level)
    executor = ActionExecutor()
    executor.register_package("actions")
    loader = AppLoader(factory=partial(create_app, executor))
    app = loader.load()
    app.prepare(
        host=os.environ.get("SANIC_HOST", "0.0.0.0"),
        port=settings().action_port,
        workers=utils.number_of_sanic_workers(),
    )
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
