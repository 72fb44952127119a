"""CSV text exactly as PowerShell 7 writes and reads it (Export-Csv, ConvertTo-Csv, Import-Csv).

Writing (``CsvWriter``):

* the header comes from the FIRST object's property names; later objects' extra properties
  are dropped, missing ones written empty; a string's only property is ``Length``;
* ``UseQuotes Always`` (the default) wraps every header and value in ``"`` and doubles an
  embedded ``"``; ``AsNeeded`` quotes only fields holding the delimiter, a quote or a line
  break; ``Never`` writes fields bare; ``QuoteFields`` names the columns to quote;
* ``$null`` and missing properties are written as nothing, not ``""`` (``"a",,"c"``);
* values are converted as .NET ``ToString()`` does: a collection is ``System.Object[]``,
  a hashtable ``System.Collections.Hashtable``, a date the en-US ``11/25/2026 8:07:00 PM``;
* ``#TYPE <type name>`` first only with ``-IncludeTypeInformation``.

Reading (``parse_csv``): the first record is the header unless one is given; a leading
``#TYPE`` line is skipped (its type name becomes ``CSV:<type>``); quoted fields may hold the
delimiter, doubled quotes and line breaks; a missing trailing field reads as ``$null``, an
empty one as ``""``; values beyond the header are ignored; blank lines are skipped.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cmdlets.base import CmdletError, PSObject
from shell.format.values import short_date
from shell.lang.typenames import type_name_of
from shell.objects import Hashtable, get_property, is_enumerable, property_names, to_text

QUOTE_MODES = ("Always", "AsNeeded", "Never")
CUSTOM_OBJECT = "System.Management.Automation.PSCustomObject"


def csv_property_names(obj: Any) -> list[str]:
    """The columns an object contributes when it is the first one written."""
    if isinstance(obj, str):
        return ["Length"]
    return property_names(obj)


def field_text(value: Any) -> str | None:
    """A value as .NET ``ToString()`` renders it in a CSV field; None for ``$null``."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return short_date(value)
    if isinstance(value, enum.Enum):
        return value.value if isinstance(value.value, str) else value.name
    if isinstance(value, Hashtable):
        return "System.Collections.Hashtable"
    if isinstance(value, bytes | bytearray):
        return "System.Byte[]"
    if is_enumerable(value) and not isinstance(value, Mapping):
        return "System.Object[]"
    return to_text(value)


class CsvWriter:
    """Turns objects into CSV lines, remembering the header fixed by the first object."""

    def __init__(
        self,
        *,
        delimiter: str = ",",
        use_quotes: str = "Always",
        quote_fields: Sequence[str] = (),
        include_type: bool = False,
        header: Sequence[str] | None = None,
        write_header: bool = True,
    ) -> None:
        if len(delimiter) != 1:
            raise CmdletError(f'The delimiter "{delimiter}" must be a single character.',
                              "InvalidArgument", "InvalidDelimiter")
        self.delimiter = delimiter
        self.use_quotes = _quote_mode(use_quotes)
        self.quote_fields = {name.casefold() for name in quote_fields}
        self.include_type = include_type
        self.header: list[str] | None = list(header) if header is not None else None
        self.write_header = write_header and header is None

    def lines_for(self, obj: Any) -> list[str]:
        """The lines to write for the next object (type and header lines come first)."""
        lines: list[str] = []
        if self.header is None:
            self.header = csv_property_names(obj)
            if self.include_type:
                lines.append(f"#TYPE {type_name_of(obj)}")
            if self.write_header:
                lines.append(self.format_row(self.header))
        values = [field_text(get_property(obj, name)) for name in self.header]
        lines.append(self.format_row(values))
        return lines

    def format_row(self, fields: Sequence[str | None]) -> str:
        assert self.header is not None
        columns = self.header if len(self.header) == len(fields) else [""] * len(fields)
        return self.delimiter.join(
            self._quoted(text, column) for text, column in zip(fields, columns, strict=True)
        )

    def _quoted(self, text: str | None, column: str) -> str:
        if text is None:
            return ""
        if self.quote_fields:
            needed = column.casefold() in self.quote_fields
        elif self.use_quotes == "Always":
            needed = True
        elif self.use_quotes == "Never":
            needed = False
        else:
            needed = any(char in text for char in (self.delimiter, '"', "\n", "\r"))
        return '"' + text.replace('"', '""') + '"' if needed else text


def _quote_mode(value: str) -> str:
    for mode in QUOTE_MODES:
        if mode.casefold() == value.casefold():
            return mode
    raise CmdletError(
        f'Cannot bind parameter \'UseQuotes\'. The value "{value}" is not one of '
        f'"{", ".join(QUOTE_MODES)}".', "InvalidArgument", "InvalidQuoteMode")


def to_csv(objects: Iterable[Any], **options: Any) -> list[str]:
    """All CSV lines for ``objects`` (ConvertTo-Csv over a whole collection)."""
    writer = CsvWriter(**options)
    return [line for obj in objects for line in writer.lines_for(obj)]


def split_records(text: str, delimiter: str = ",") -> list[list[str | None]]:
    """Split CSV text into records of fields, honouring quotes and embedded line breaks.

    A field is ``None`` only when a record ends before it (see ``parse_csv``); here every
    parsed field is a string.  Blank lines yield no record.
    """
    records: list[list[str | None]] = []
    fields: list[str | None] = []
    field: list[str] = []
    in_quotes = False
    index = 0
    started = False
    while index < len(text):
        char = text[index]
        if in_quotes:
            if char == '"' and text[index + 1 : index + 2] == '"':
                field.append('"')
                index += 1
            elif char == '"':
                in_quotes = False
            else:
                field.append(char)
        elif char == '"':
            in_quotes, started = True, True
        elif char == delimiter:
            fields.append("".join(field))
            field, started = [], True
        elif char in "\r\n":
            if char == "\r" and text[index + 1 : index + 2] == "\n":
                index += 1
            if started or field:
                fields.append("".join(field))
                records.append(fields)
            fields, field, started = [], [], False
        else:
            field.append(char)
            started = True
        index += 1
    if started or field:
        fields.append("".join(field))
        records.append(fields)
    return records


def parse_csv(
    text: str, *, delimiter: str = ",", header: Sequence[str] | None = None
) -> list[PSObject]:
    """Records as ``PSObject``s, one per data row (Import-Csv / ConvertFrom-Csv)."""
    text = text.removeprefix("\ufeff")
    type_name = CUSTOM_OBJECT
    if text.startswith("#TYPE"):
        first_line, _, text = text.partition("\n")
        declared = first_line[len("#TYPE") :].strip()
        type_name = f"CSV:{declared}" if declared else CUSTOM_OBJECT
    records = split_records(text, delimiter)
    if header is not None:
        names = list(header)
    else:
        names = [str(f or "") for f in records.pop(0)] if records else []
    names = _checked_header(names)
    return [_record(names, fields, type_name) for fields in records]


def _checked_header(names: list[str]) -> list[str]:
    seen: set[str] = set()
    checked = []
    for index, name in enumerate(names):
        name = name or f"H{index + 1}"
        if name.casefold() in seen:
            raise CmdletError(f'The member "{name}" is already present.',
                              "InvalidOperation", "AlreadyPresentPSMemberInfoInternalCollectionAdd")
        seen.add(name.casefold())
        checked.append(name)
    return checked


def _record(names: list[str], fields: list[str | None], type_name: str) -> PSObject:
    values = {name: (fields[i] if i < len(fields) else None) for i, name in enumerate(names)}
    types = (type_name, CUSTOM_OBJECT) if type_name != CUSTOM_OBJECT else (CUSTOM_OBJECT,)
    return PSObject(values, (*types, "System.Object"))
