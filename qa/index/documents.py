"""Files -> Documents: exact text as read, source path, headline, date and content hash.

A document's optional metadata lives beside it in `<file>.meta.json` (`{"title": ..., "date": ...}`),
so the document itself stays byte-for-byte what its author wrote and citation offsets can be checked
against it with `Path(source).read_text(encoding="utf-8")`. HTML, PDF and DOCX files are read through
`qa.index.readers`; their offsets index the extracted text, which the index keeps (see that module).
"""

import hashlib
import io
import json
import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from qa.errors import DocumentError
from qa.index.readers import EXTRACTED_SUFFIXES, PLAIN_SUFFIXES, extract_text
from qa.text import WRAPPED_SPLIT, hard_wrapped

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = PLAIN_SUFFIXES | EXTRACTED_SUFFIXES
META_SUFFIX = ".meta.json"
_TITLE_MAX = 200
_UNPACKED_PER_CHAR = 10  # WordprocessingML spends a few bytes of markup per character of text


@dataclass(frozen=True)
class Document:
    """One source file's text and what we know about it."""

    source: str
    text: str
    title: str
    date: str
    content_hash: str


def discover(paths: list[Path], follow_links: bool = False) -> tuple[list[Path], list[DocumentError], list[str]]:
    """Expand folders into their supported files (sorted); report paths that do not exist.

    Inside a folder, a symbolic link that leads outside it is skipped with a warning, as ripgrep does
    (`qa ingest docs/` must not index /etc/passwd through a link someone left in docs/), unless
    `follow_links`; device files, FIFOs and sockets are never read. Returns (files, errors, skipped).
    """
    found: list[Path] = []
    missing: list[DocumentError] = []
    skipped: list[str] = []
    for path in paths:
        if path.is_dir():
            found.extend(_walk(path, follow_links, skipped))
        elif path.is_file():
            found.append(path)
        elif path.exists() or path.is_symlink():
            missing.append(DocumentError(f"{path}: not a regular file (a device, FIFO, socket or broken link)"))
        else:
            missing.append(DocumentError(f"{path}: no such file or folder"))
    for note in skipped:
        log.warning("skipped %s", note)
    return found, missing, skipped


def _walk(folder: Path, follow_links: bool, skipped: list[str]) -> list[Path]:
    """Supported regular files under `folder`, in sorted order, never leaving it through a link
    unless `follow_links` (and then never entering the same real folder twice)."""
    root = folder.resolve()
    out: list[Path] = []
    seen: set[Path] = set()
    for here, dirs, files in os.walk(folder, followlinks=follow_links):
        base = Path(here)
        real = base.resolve()
        if real in seen:
            dirs.clear()
            continue
        seen.add(real)
        for name in sorted(dirs):
            link = base / name
            if link.is_symlink() and not follow_links and not link.resolve().is_relative_to(root):
                skipped.append(f"{link}: a link to a folder outside {folder} (use --follow-links to include it)")
        for name in sorted(files):
            path = base / name
            if not _supported(path):
                continue
            if path.is_symlink() and not follow_links and not path.resolve().is_relative_to(root):
                skipped.append(f"{path}: a link to a file outside {folder} (use --follow-links to include it)")
            elif not path.is_file():
                skipped.append(f"{path}: not a regular file (a device, FIFO, socket or broken link)")
            else:
                out.append(path)
    return sorted(out)


def _supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES and not path.name.startswith(".")


def read_document(path: Path, max_bytes: int, max_chars: int = 20_000_000) -> Document:
    """Read one file's text; raise DocumentError saying why it cannot be used.

    `max_chars` bounds the text a file may expand to: a DOCX (a ZIP) is measured unpacked before it is
    read, so a small archive that inflates to gigabytes is refused without being inflated.
    """
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise DocumentError(f"{path}: unsupported file type (supported: {kinds})")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentError(f"{path}: {size} bytes is over the limit of {max_bytes} (QA_MAX_FILE_BYTES)")
        raw = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if path.suffix.lower() == ".docx":
        _check_unpacked_size(path, raw, max_chars)
    text = extract_text(path) if path.suffix.lower() in EXTRACTED_SUFFIXES else _plain_text(path, raw)
    if len(text) > max_chars:
        raise DocumentError(
            f"{path}: its text is {len(text)} characters, over the limit of {max_chars} (QA_MAX_TEXT_CHARS)"
        )
    if not text.strip():
        raise DocumentError(f"{path}: empty document")
    meta = _read_meta(path)
    return Document(
        source=str(path),
        text=text,
        title=str(meta.get("title") or _first_line(text) or path.stem)[:_TITLE_MAX],
        date=str(meta.get("date") or ""),
        content_hash=index_hash(text),
    )


def index_hash(text: str) -> str:
    """The digest a document version is indexed under: of its text, and for hard-wrapped text also of the rule
    that splits it into sentences (`qa.text.WRAPPED_SPLIT`), so that such a document indexed before that rule
    (its sentences line fragments) is indexed again by the next ingest, through the usual replacement of a
    changed document. Every other text's digest is the SHA-256 of its text, as before."""
    digest = hashlib.sha256(text.encode("utf-8"))
    if hard_wrapped(text):
        digest.update(WRAPPED_SPLIT.encode("utf-8"))
    return digest.hexdigest()


def _check_unpacked_size(path: Path, raw: bytes, max_chars: int) -> None:
    """Refuse an archive whose members unpack to far more than the text limit (a ZIP bomb)."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # not a readable archive: the reader says so in its own words
    if unpacked > _UNPACKED_PER_CHAR * max_chars:
        raise DocumentError(
            f"{path}: unpacks to {unpacked} bytes, far more than a document's text may be "
            f"({max_chars} characters, QA_MAX_TEXT_CHARS); refused unread"
        )


def _plain_text(path: Path, raw: bytes) -> str:
    """A text file's exact text; refuses binary and non-UTF-8 bytes."""
    if b"\x00" in raw:
        raise DocumentError(f"{path}: looks binary (contains NUL bytes), not a text document")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path}: not valid UTF-8 (byte {exc.start}); convert it to UTF-8") from None
    return path.read_text(encoding="utf-8")  # the same newline handling the offset contract uses


def _read_meta(path: Path) -> dict:
    meta_path = path.with_name(path.name + META_SUFFIX)
    if not meta_path.is_file():
        return {}
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable metadata %s: %s", meta_path, exc)
        return {}
    return meta if isinstance(meta, dict) else {}


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
