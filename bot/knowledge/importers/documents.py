"""Full-text documents (TXT, Markdown, HTML, DOCX, PDF) split into sections by clause.

Chinese standards and policy documents number their parts (第三章, 第十二条, 4.2, 一、,
（三）); a short line that starts that way is a heading and the text up to the next one is
its section. Markdown and HTML headings and Word heading styles are used where present.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.models import Section

DOCUMENT_FORMATS = ("txt", "md", "html", "docx", "pdf")
MAX_HEADING_CHARS = 40

_CLAUSE = re.compile(
    r"^(?:第[一二三四五六七八九十百零〇\d]+[章节条部分篇]"
    r"|附\s?录\s?[A-Z]?"
    r"|\d{1,2}(?:\.\d{1,2}){0,3}\s+(?=\S)"
    r"|[一二三四五六七八九十]+、"
    r"|[（(][一二三四五六七八九十]+[）)])"
)
_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$")
_HTML_MARK = "\u2063H\u2063"  # an invisible separator no real text contains


class DocumentError(ValueError):
    """The file cannot be read as a document; the message is for the import report."""


@dataclass(frozen=True)
class Document:
    title: str
    sections: list[Section]

    @property
    def text(self) -> str:
        return "\n".join(f"{s.heading}\n{s.text}" if s.heading else s.text for s in self.sections)


def read_document(path: Path, fmt: str) -> Document:
    readers = {"txt": _txt, "md": _markdown, "html": _html, "docx": _docx, "pdf": _pdf}
    document = readers[fmt](path)
    if not any(s.text.strip() for s in document.sections):
        raise DocumentError("文件中没有可导入的文字内容")
    return document


def split_sections(lines: list[str], headings: set[int] | None = None) -> list[Section]:
    """Sections at explicit ``headings`` (line indexes) or at clause-like short lines.

    A heading with no text under it (a chapter title) is kept as the prefix of the next
    heading, so "第二章 受理 第五条" stays findable by its chapter's words.
    """
    sections: list[Section] = []
    heading = ""
    body: list[str] = []
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line:
            continue
        if i in headings if headings is not None else _looks_like_heading(line):
            if body:
                sections.append(Section(heading, "\n".join(body)))
                heading = line
            else:
                heading = f"{heading} {line}".strip()
            body = []
        else:
            body.append(line)
    if body:
        sections.append(Section(heading, "\n".join(body)))
    return sections


def _looks_like_heading(line: str) -> bool:
    return (
        len(line) <= MAX_HEADING_CHARS
        and bool(_CLAUSE.match(line))
        and not line.endswith(("。", "；", ";", "，", ","))
    )


def _decode(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DocumentError("无法识别文件编码（支持 UTF-8 和 GB18030/GBK）")


def _txt(path: Path) -> Document:
    lines = _decode(path).splitlines()
    title = next((line.strip() for line in lines if line.strip()), path.stem)
    body = lines[1:] if lines and lines[0].strip() == title and len(title) <= 60 else lines
    return Document(title if len(title) <= 60 else path.stem, split_sections(body))


def _markdown(path: Path) -> Document:
    lines = _decode(path).splitlines()
    headings: set[int] = set()
    cleaned: list[str] = []
    title = ""
    for i, line in enumerate(lines):
        match = _MD_HEADING.match(line.strip())
        if match:
            headings.add(i)
            cleaned.append(match.group(1))
            title = title or match.group(1)
        else:
            cleaned.append(re.sub(r"[*_`>]+", "", line))
    if title:
        first = next(i for i in sorted(headings))
        headings.discard(first)
        cleaned[first] = ""
    return Document(title or path.stem, split_sections(cleaned, headings or None))


def _html(path: Path) -> Document:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(path), "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript"]):
        tag.decompose()
    title_tag = soup.find("title")
    title = title_tag.get_text(strip=True) if title_tag else ""
    if title_tag:
        title_tag.decompose()
    for heading in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6"]):
        text = heading.get_text(" ", strip=True)
        title = title or text
        heading.replace_with(f"\n{_HTML_MARK}{text}\n")
    lines = soup.get_text("\n").splitlines()
    headings = {i for i, line in enumerate(lines) if line.startswith(_HTML_MARK)}
    lines = [line.replace(_HTML_MARK, "") for line in lines]
    if headings:
        first = min(headings)
        if lines[first].strip() == title:
            headings.discard(first)
            lines[first] = ""
    return Document(title or path.stem, split_sections(lines, headings or None))


def _docx(path: Path) -> Document:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(
            f"无法读取 Word 文件（{type(exc).__name__}），请确认是 .docx 格式且未损坏"
        ) from None
    lines: list[str] = []
    headings: set[int] = set()
    for paragraph in document.paragraphs:
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if style.lower().startswith(("heading", "title")) or style.startswith("标题"):
            headings.add(len(lines))
        lines.append(paragraph.text)
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text.strip() for cell in row.cells))
    title = (document.core_properties.title or "").strip()
    if not title and headings:
        first = min(headings)
        title = lines[first].strip()
        headings.discard(first)
        lines[first] = ""
    has_styles = bool(headings)
    return Document(title or path.stem, split_sections(lines, headings if has_styles else None))


def _pdf(path: Path) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise DocumentError("PDF 文件已加密，请先解除密码保护")
        pages = [page.extract_text() or "" for page in reader.pages]
        metadata = reader.metadata
        title = str(metadata.get("/Title") or "").strip() if metadata is not None else ""
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        if isinstance(exc, DocumentError):
            raise
        raise DocumentError(f"无法读取 PDF 文件（{type(exc).__name__}），文件可能已损坏") from None
    text = "\n".join(pages)
    if not text.strip():
        raise DocumentError("PDF 中没有可提取的文字（可能是扫描件），请先做文字识别再导入")
    lines = [line for line in text.splitlines() if line.strip()]
    if not title and len(lines[0].strip()) <= 60:
        title, lines = lines[0].strip(), lines[1:]
    return Document(title or path.stem, split_sections(lines))
