"""Console imports: upload, a dry-run report, then publishing by a second person.

The same readers as ``python -m bot kb import`` (CSV, JSONL, XLSX, TXT, Markdown, HTML,
DOCX, PDF). An upload is kept under ``var/kb-uploads/<token>/`` until it is confirmed;
the report (new, changed, unchanged, rejected rows with line numbers and reasons) is
computed from it without writing anything. Confirming needs the reviewer permission and
someone other than the uploader; the rows are published at once and embedded after the
response, so a catalogue of thousands of rows does not hold the browser.

Uploads are streamed (``request.multipart()``), so they are not bound by the gateway's
small request limit; the page's script sends the CSRF token as a header for that reason.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from aiohttp import BodyPartReader, web

from bot.gateway import keys
from bot.gateway.auth import audit, current_user, redirect, require_permission
from bot.gateway.console.common import context
from bot.gateway.console.knowledge_services import (
    EDIT,
    REVIEW,
    go_live_later,
    knowledge_console,
    today,
)
from bot.gateway.pages import render
from bot.knowledge.importers.report import ImportReport
from bot.knowledge.ingest import FORMATS, ImportOptions, detect_format, read_file
from bot.knowledge.models import Entry

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
SHOWN_ROWS = 200
_TOKEN = re.compile(r"^[0-9a-f]{16}$")
_KINDS = {"auto": "自动判断", "standard": "标准目录", "knowledge": "知识点"}


class UploadError(ValueError):
    pass


@dataclass(frozen=True)
class DryRun:
    """What confirming would do; nothing has been written yet."""

    file_name: str
    uploader: str
    entries: list[Entry]
    new: list[Entry]
    changed: list[Entry]
    unchanged: int
    report: ImportReport


@require_permission(EDIT)
async def import_page(request: web.Request) -> web.StreamResponse:
    return _upload_page(request)


@require_permission(EDIT)
async def upload(request: web.Request) -> web.StreamResponse:
    folder = _uploads(request) / secrets.token_hex(8)
    try:
        meta = await _receive(request, folder)
    except UploadError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return _upload_page(request, str(exc), 400)
    await audit(request, "knowledge.import_upload", meta["file_name"])
    return redirect(f"/console/knowledge/import/{folder.name}")


@require_permission(EDIT)
async def dry_run_page(request: web.Request) -> web.StreamResponse:
    uploaded = await _uploaded(request)
    if uploaded is None:
        return _upload_page(request, "这次上传已失效或已导入，请重新上传文件。", 404)
    folder, run = uploaded
    user = current_user(request)
    return render(
        "console/knowledge_import.html",
        context(
            request,
            "knowledge",
            run=run,
            token=folder.name,
            shown=SHOWN_ROWS,
            can_confirm=user.can(REVIEW) and user.username != run.uploader,
            kinds=_KINDS,
        ),
    )


@require_permission(REVIEW)
async def confirm(request: web.Request) -> web.StreamResponse:
    uploaded = await _uploaded(request)
    if uploaded is None:
        return _upload_page(request, "这次上传已失效或已导入，请重新上传文件。", 404)
    folder, run = uploaded
    user = current_user(request)
    if user.username == run.uploader:
        return _upload_page(request, "导入需由上传人以外的审核人确认发布。", 403)
    if not run.new and not run.changed:
        return _upload_page(request, "文件中没有新增或修改的记录，无需导入。", 409)
    editor = knowledge_console(request).editor
    added, updated = await asyncio.to_thread(
        editor.import_entries,
        run.new + run.changed,
        f"console:{run.file_name}",
        user.username,
        today(),
    )
    await asyncio.to_thread(shutil.rmtree, folder, True)
    await audit(
        request,
        "knowledge.import",
        run.file_name,
        {"added": len(added), "updated": len(updated), "rejected": len(run.report.errors)},
    )
    go_live_later(request.app)
    return redirect("/console/knowledge?done=import")


# -- internals ---------------------------------------------------------------------------


async def _receive(request: web.Request, folder: Path) -> dict[str, str]:
    """Streams the form: the kind, then the file (checked against the size limit)."""
    if not request.content_type.startswith("multipart/"):
        raise UploadError("请选择要上传的文件。")
    reader = await request.multipart()
    kind = "auto"
    meta: dict[str, str] | None = None
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "kind":
            value = (await part.text()).strip()
            kind = value if value in _KINDS else "auto"
        elif part.name == "file" and part.filename:
            meta = await _save(part, folder)
    if meta is None:
        raise UploadError("请选择要上传的文件。")
    meta.update(kind=kind, uploader=current_user(request).username)
    (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return meta


async def _save(part: BodyPartReader, folder: Path) -> dict[str, str]:
    name = Path(part.filename or "").name[:200]
    try:
        fmt = detect_format(Path(name), None)
    except ValueError:
        raise UploadError(f"不支持的文件类型“{name}”，可导入：{'、'.join(FORMATS)}。") from None
    await asyncio.to_thread(folder.mkdir, parents=True)
    target = folder / f"upload{Path(name).suffix.lower()}"
    size = 0
    with target.open("wb") as out:
        while chunk := await part.read_chunk(256 * 1024):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise UploadError("文件超过 20 MB，请拆分后分批导入，或由运维人员用命令行导入。")
            out.write(chunk)
    if size == 0:
        raise UploadError("上传的文件是空的。")
    return {"file_name": name, "format": fmt, "path": target.name}


def _dry_run(request: web.Request, folder: Path) -> DryRun:
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    console = knowledge_console(request)
    options = ImportOptions(format=meta["format"], kind=meta["kind"])
    entries, report = read_file(folder / meta["path"], console.store, options)
    report.path = meta["file_name"]
    known = console.store.content_hashes()
    new = [e for e in entries if e.id not in known]
    changed = [e for e in entries if e.id in known and known[e.id] != e.content_hash()]
    unchanged = len(entries) - len(new) - len(changed)
    return DryRun(meta["file_name"], meta["uploader"], entries, new, changed, unchanged, report)


async def _uploaded(request: web.Request) -> tuple[Path, DryRun] | None:
    """The upload the URL names and what importing it would do; None when it is gone."""
    token = request.match_info["token"]
    folder = _uploads(request) / token
    if not _TOKEN.match(token) or not (folder / "meta.json").is_file():
        return None
    return folder, await asyncio.to_thread(_dry_run, request, folder)


def _uploads(request: web.Request) -> Path:
    return request.app[keys.SETTINGS].var_dir / "kb-uploads"


def _upload_page(request: web.Request, error: str | None = None, status: int = 200) -> web.Response:
    return render(
        "console/knowledge_import.html",
        context(request, "knowledge", run=None, kinds=_KINDS, error=error, formats=FORMATS),
        status=status,
    )
