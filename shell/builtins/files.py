"""Files for the output and content cmdlets: -Encoding names, reading, writing, errors.

PowerShell 7 writes ``utf8NoBOM`` unless told otherwise; ``utf8`` is also without BOM,
``utf8BOM`` with one; ``unicode`` is UTF-16LE with BOM; ``ascii`` turns other characters
into ``?``.  Lines end in LF (``\\n``), as .NET's ``WriteLine`` does on Linux.  Appending to a
non-empty file never writes a second BOM.
"""

from __future__ import annotations

from pathlib import Path

from cmdlets.base import CmdletError

ENCODINGS: dict[str, str] = {
    "utf8nobom": "utf-8",
    "utf8": "utf-8",
    "utf8bom": "utf-8-sig",
    "ascii": "ascii",
    "unicode": "utf-16",
    "bigendianunicode": "utf-16-be",
    "utf32": "utf-32",
    "latin1": "latin-1",
    "default": "utf-8",
    "oem": "utf-8",
}
ENCODING_CHOICES = ("utf8NoBOM", "utf8", "utf8BOM", "ascii", "unicode", "bigendianunicode",
                    "utf32", "latin1", "default", "oem")


def python_encoding(name: str | None) -> str:
    """The codec for a PowerShell -Encoding name (utf8NoBOM when none is given)."""
    if not name:
        return "utf-8"
    try:
        return ENCODINGS[name.casefold()]
    except KeyError:
        raise CmdletError(
            f"Cannot bind parameter 'Encoding'. '{name}' is not a supported encoding name.",
            "InvalidArgument", "UnsupportedEncoding") from None


def write_text(path: Path, text: str, *, encoding: str | None = None, append: bool = False) -> None:
    """Write (or append) ``text`` exactly, LF line ends, mapped encoding."""
    codec = python_encoding(encoding)
    if codec == "utf-16-be" and not (append and _non_empty(path)):
        text = "\ufeff" + text
    if append and _non_empty(path) and not _ends_with_newline(path):
        text = "\n" + text
    try:
        with open(path, "a" if append else "w", encoding=codec, errors="replace",
                  newline="") as handle:
            handle.write(text)
    except OSError as exc:
        raise file_error(path, exc) from None


def read_text(path: Path, encoding: str | None = None) -> str:
    """The text of ``path`` (a leading BOM is dropped).  Without -Encoding a byte order mark
    decides, as in PowerShell: UTF-16 LE/BE (a file saved by Excel's "Unicode text" or by
    Windows PowerShell's Export-Csv), UTF-32 LE, UTF-8; no mark means UTF-8."""
    codec = python_encoding(encoding)
    codec = "utf-8-sig" if codec == "utf-8" else codec
    try:
        if not encoding:
            codec = _codec_from_bom(path) or codec
        return path.read_text(encoding=codec, errors="replace")
    except FileNotFoundError:
        raise path_not_found(path) from None
    except OSError as exc:
        raise file_error(path, exc) from None


_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"),
         (b"\xef\xbb\xbf", "utf-8-sig"))


def _codec_from_bom(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(4)
    return next((codec for bom, codec in _BOMS if head.startswith(bom)), None)


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise path_not_found(path) from None
    except OSError as exc:
        raise file_error(path, exc) from None


def path_not_found(path: Path) -> CmdletError:
    return CmdletError(f"Cannot find path '{path}' because it does not exist.",
                       "ObjectNotFound", "PathNotFound", target=str(path))


def file_error(path: Path, exc: OSError) -> CmdletError:
    reason = exc.strerror or str(exc)
    if isinstance(exc, IsADirectoryError):
        return CmdletError(f"Could not open '{path}': it is a directory.",
                           "InvalidOperation", "FileOpenFailure", target=str(path))
    if isinstance(exc, PermissionError):
        return CmdletError(f"Access to the path '{path}' is denied.",
                           "PermissionDenied", "FileOpenFailure", target=str(path))
    return CmdletError(f"Could not access '{path}': {reason}.", "WriteError",
                       "FileOpenFailure", target=str(path))


def _non_empty(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1) in (b"\n", b"\x00")
