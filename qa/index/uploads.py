"""Keeping uploaded files: the type read from the bytes, a safe name, an atomic write.

An upload's name and type are claims made by whoever sent it. The file kind comes from its content
(magic bytes), never from the name; the name is cut down to a plain file name inside the upload
folder, so no `..`, absolute path, separator or control character can steer where it is written.
"""

import hashlib
import io
import os
import re
import tempfile
import unicodedata
import zipfile
from pathlib import Path

from qa.errors import DocumentError

_NAME_MAX = 100
_UNSAFE = re.compile(r"[^\w.\- ()]+")
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.DOTALL)


def sniff_suffix(data: bytes, name: str) -> str:
    """The file kind of `data` as the suffix the readers understand; DocumentError for anything else.

    A text file keeps `.md` when its name says so (Markdown is plain text to the reader anyway).
    """
    if data.startswith(b"%PDF-"):
        return ".pdf"
    if data.startswith(b"PK\x03\x04"):
        if _is_docx(data):
            return ".docx"
        raise DocumentError(f"{name}: a ZIP archive that is not a Word (.docx) document")
    if b"\x00" in data[:65536]:
        raise DocumentError(
            f"{name}: binary content of a kind docqa does not read (supported: text, Markdown, HTML, PDF, DOCX)"
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{name}: not valid UTF-8 text (byte {exc.start}); convert it to UTF-8") from None
    if _HTML_START.match(data.removeprefix(b"\xef\xbb\xbf")[:4096]):
        return ".html"
    return ".md" if name.lower().endswith((".md", ".markdown")) else ".txt"


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def safe_name(name: str, suffix: str) -> str:
    """A plain file name from an untrusted one, ending in `suffix` (the sniffed kind)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    stem = base[: -len(Path(base).suffix)] if Path(base).suffix else base
    stem = _UNSAFE.sub("_", stem).strip(" ._")[:_NAME_MAX] or "upload"
    return stem + suffix


class UploadFolder:
    """The folder uploaded files live in; each file is written whole or not at all."""

    def __init__(self, folder: Path):
        self.folder = folder

    def save(self, name: str, data: bytes) -> Path:
        """Write `data` under a safe version of `name`; a different file of the same name gets a
        suffix (`report-2.pdf`), the same bytes again reuse the existing file."""
        if not data:
            raise DocumentError(f"{name or 'upload'}: the file is empty")
        target_name = safe_name(name, sniff_suffix(data, name or "upload"))
        self.folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(data).digest()
        stem, suffix = target_name[: -len(Path(target_name).suffix)], Path(target_name).suffix
        for attempt in range(1, 10_000):
            path = self.folder / (target_name if attempt == 1 else f"{stem}-{attempt}{suffix}")
            if not path.exists() and self._write(path, data):
                return path
            if path.is_file() and not path.is_symlink() and hashlib.sha256(path.read_bytes()).digest() == digest:
                return path
        raise DocumentError(f"{name}: too many uploads share this name; rename the file")

    def _write(self, path: Path, data: bytes) -> bool:
        """False when another upload took the name meanwhile: a link never overwrites."""
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.link(temporary, path)
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(temporary)

    def size(self) -> int:
        """Bytes the kept uploads take (the per-notebook limit counts these)."""
        if not self.folder.is_dir():
            return 0
        return sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file() and not p.is_symlink())

    def discard(self, path: Path) -> None:
        """Delete a file of this folder (an upload that could not be indexed, or one removed from the index);
        a path anywhere else is left alone."""
        if path.parent.resolve() == self.folder.resolve() and path.is_file():
            path.unlink(missing_ok=True)
