"""The migration CSV (``-CSVData``): decoding, parsing and validating it into user rows.

Input is the raw bytes the administrator passed (``[System.IO.File]::ReadAllBytes(...)``):
UTF-8 with or without a byte-order mark, or UTF-16 with a BOM (what Windows PowerShell's
``Out-File``/``Export-Csv -Encoding Unicode`` writes). Anything else is refused.

Columns (reference/ms-cmdlets.md §B2): ``EmailAddress``, ``UserName`` and ``Password`` are
required (``Password`` not for a source that signs in with tokens, ``UserName`` not for a
Gmail endpoint, whose users sign in as their ``EmailAddress``); ``UserRoot`` is optional;
``TargetUserName`` and ``TargetPassword`` are imsh's optional per-user target credentials
(given together). Header names are matched case-insensitively.
Other columns are refused unless ``allow_unknown_columns`` (``-AllowUnknownColumnsInCsv``).

Checks run in the order the EAC lists them (§B2 "validates the migration file"), then per row:

====================================  ========================================================
defect                                message
====================================  ========================================================
blank file                            Exchange's "Upload file can't be empty"
more than 10 MB                       imsh's wording
not UTF-8 / UTF-16                    imsh's wording
more than 50,000 user rows            Exchange's "The CSV file contains more than 50,000 ..."
required column missing               Exchange's "Column "X" is missing from the CSV file ..."
column named twice / unknown column   imsh's wording
columns separated by ``;`` or tabs    imsh's wording
header but no user rows               imsh's wording
row with a different column count     Exchange's "Row X has the wrong number of columns ..."
empty EmailAddress/UserName/Password  imsh's wording (the old Live@edu checks, §B8 OLD-HELP)
UserName with leading/trailing blanks imsh's wording (same source)
malformed EmailAddress                imsh's wording
duplicate EmailAddress                imsh's wording
only one of the Target* columns       imsh's wording
user already in another batch         imsh's wording (:func:`check_not_in_other_batches`)
====================================  ========================================================

Row numbers count user rows from 1: the header is not a row, and blank lines (including lines
of nothing but commas, which spreadsheets leave behind) are neither counted nor reported.
Passwords are kept exactly as written (blanks are significant); other values are trimmed.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from engine.errors import ValidationError
from engine.limits import MAX_CSV_BYTES, MAX_CSV_ROWS
from engine.secrets import Secret

EMAIL_ADDRESS = "EmailAddress"
USER_NAME = "UserName"
PASSWORD = "Password"
USER_ROOT = "UserRoot"
TARGET_USER_NAME = "TargetUserName"
TARGET_PASSWORD = "TargetPassword"

REQUIRED_COLUMNS = (EMAIL_ADDRESS, USER_NAME, PASSWORD)
OPTIONAL_COLUMNS = (USER_ROOT, TARGET_USER_NAME, TARGET_PASSWORD)
KNOWN_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS


@dataclass(frozen=True)
class CsvUserRow:
    """One migration user from the CSV. The passwords are :class:`~engine.secrets.Secret` from
    the moment the file is parsed (masked in ``repr``, revealed only where a login is sent)."""

    row_number: int
    email_address: str
    user_name: str
    password: Secret = field(repr=False)
    user_root: str | None = None
    target_user_name: str | None = None
    target_password: Secret | None = field(default=None, repr=False)


def parse_migration_csv(data: bytes, *, allow_unknown_columns: bool = False,
                        password_required: bool = True,
                        user_name_required: bool = True) -> list[CsvUserRow]:
    """Decode and validate ``-CSVData``; raise :class:`ValidationError` naming the defect.
    ``password_required=False`` (a source that signs in with OAuth: engine/oauth.py) makes the
    ``Password`` column optional; a value given is kept but never used.
    ``user_name_required=False`` (a Gmail endpoint: Exchange's Google Workspace CSV has the
    ``EmailAddress`` column only) makes ``UserName`` optional: a row without one signs in to
    the source as its ``EmailAddress``."""
    text = _decode(data)
    _check_delimiter(_first_line(text))
    records = _records(text)
    header = _header(_skip_type_line(records))
    rows = list(records)
    if len(rows) > MAX_CSV_ROWS:
        raise _invalid(
            "The CSV file contains more than 50,000 rows. Please divide the file into two or "
            "more files and submit them separately.",
            "CsvTooManyRows",
        )
    columns = _columns(header, allow_unknown_columns, password_required, user_name_required)
    if not rows:
        raise _invalid(
            "The CSV file doesn't contain any users. Add one row for each user below the header "
            "row and re-submit the file.",
            "CsvNoRows",
        )
    users = [_user(number, values, header, columns, password_required, user_name_required)
             for number, values in enumerate(rows, 1)]
    _check_unique(users)
    return users


def address_key(email_address: str) -> str:
    """How e-mail addresses are compared (Exchange treats them case-insensitively)."""
    return email_address.strip().casefold()


def check_not_in_other_batches(
    users: Sequence[CsvUserRow], batch_of_address: Mapping[str, str]
) -> None:
    """Refuse users already in another batch. ``batch_of_address`` maps :func:`address_key` of
    every address in the store's other batches to that batch's name."""
    for user in users:
        other = batch_of_address.get(address_key(user.email_address))
        if other is not None:
            raise _invalid(
                f'Row {user.row_number}: the user "{user.email_address}" is already in the '
                f'migration batch "{other}". Remove the user from that batch or from this file '
                "and re-submit it.",
                "CsvUserInOtherBatch",
            )


# --- decoding --------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise _invalid("Upload file can't be empty", "CsvEmpty")
    if len(data) > MAX_CSV_BYTES:
        raise _invalid(
            f"The CSV file is {len(data):,} bytes long; it can be as large as 10 MB. Please "
            "divide the file into two or more files and submit them separately.",
            "CsvTooLarge",
        )
    encoding = _encoding(data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _invalid(
            f"The CSV file isn't valid {exc.encoding.upper().removesuffix('-SIG')} text "
            f"(byte {exc.start + 1}). Save it with UTF-8 or UTF-16 (Unicode) encoding and "
            "re-submit it.",
            "CsvEncoding",
        ) from None
    if not text.strip():
        raise _invalid("Upload file can't be empty", "CsvEmpty")
    return text


def _encoding(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8"


def _records(text: str) -> Iterator[list[str]]:
    """Non-blank CSV records. A NUL or a broken quote becomes a :class:`ValidationError`."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for values in reader:
            if any(value.strip() for value in values):
                yield values
    except csv.Error as exc:
        raise _invalid(
            f"The CSV file can't be read near line {reader.line_num}: {exc}. Please edit the "
            "file and re-submit it.",
            "CsvMalformed",
        ) from None


# --- header ----------------------------------------------------------------------------------


def _skip_type_line(records: Iterator[list[str]]) -> list[str] | None:
    """The first record, skipping the ``#TYPE ...`` line Windows PowerShell's Export-Csv writes
    (Import-Csv skips it too)."""
    first = next(records, None)
    if first is not None and len(first) == 1 and first[0].startswith("#TYPE"):
        first = next(records, None)
    return first


def _header(values: list[str] | None) -> list[str]:
    if values is None:  # only blank lines (or just a #TYPE line): there is nothing here
        raise _invalid("Upload file can't be empty", "CsvEmpty")
    header = [value.strip() for value in values]
    if "" in header:
        raise _invalid(
            f"Column {header.index('') + 1} of the header row has no name. Please edit the "
            "header row and re-submit the file.",
            "CsvEmptyColumnName",
        )
    return header


def _columns(header: list[str], allow_unknown: bool, password_required: bool = True,
             user_name_required: bool = True) -> dict[str, int]:
    """Map each known column's canonical name to its index in the header."""
    canonical = {name.casefold(): name for name in KNOWN_COLUMNS}
    columns: dict[str, int] = {}
    for index, given in enumerate(header):
        name = canonical.get(given.casefold())
        if name is None:
            if not allow_unknown:
                raise _unknown_column(given)
        elif name in columns:
            raise _invalid(
                f'Column "{name}" appears more than once in the CSV file. Please edit the CSV '
                "file and re-submit it.",
                "CsvDuplicateColumn",
            )
        else:
            columns[name] = index
    optional = {n for n, needed in ((PASSWORD, password_required),
                                    (USER_NAME, user_name_required)) if not needed}
    for name in REQUIRED_COLUMNS:
        if name not in columns and name not in optional:
            raise _invalid(
                f'Column "{name}" is missing from the CSV file. The import process can\'t '
                "continue because this column is required. Please edit the CSV file and "
                "re-submit it.",
                "CsvMissingColumn",
            )
    return columns


def _first_line(text: str) -> str:
    """The header row as written: the first non-blank line that is not a ``#TYPE`` line."""
    for line in text.splitlines():
        if line.strip() and not line.startswith("#TYPE"):
            return line
    return ""


def _check_delimiter(line: str) -> None:
    """A header line without a comma that splits into known columns on ``;`` or a tab: the
    file was saved with another delimiter (Excel does so in many locales, quoting every field
    or none). Said as such, before the CSV reader sees it, rather than as an unknown column
    named ``EmailAddress;UserName;Password`` or a broken quote."""
    if "," in line:
        return
    known = {name.casefold() for name in KNOWN_COLUMNS}
    for delimiter, name in ((";", "semicolons"), ("\t", "tabs")):
        parts = [p.strip().strip('"').strip() for p in line.split(delimiter)]
        if len(parts) > 1 and all(p.casefold() in known for p in parts):
            raise _invalid(
                f"The CSV file separates its columns with {name}; an IMAP migration CSV file "
                "is comma-separated (EmailAddress,UserName,Password). Save it with commas (as "
                "Export-Csv does) and re-submit the file.",
                "CsvWrongDelimiter",
            )


def _unknown_column(given: str) -> ValidationError:
    known = ", ".join(KNOWN_COLUMNS)
    return _invalid(
        f'Column "{given}" isn\'t a known column of an IMAP migration CSV file ({known}). '
        "Correct the column name, or use -AllowUnknownColumnsInCsv $true to ignore unknown "
        "columns, and re-submit the file.",
        "CsvUnknownColumn",
    )


# --- rows ------------------------------------------------------------------------------------


def _user(
    number: int, values: list[str], header: list[str], columns: dict[str, int],
    password_required: bool = True, user_name_required: bool = True,
) -> CsvUserRow:
    if len(values) != len(header):
        raise _invalid(
            f"Row {number} has the wrong number of columns. Expected number: {len(header)}. "
            f"Actual number: {len(values)}. Please edit this row and re-submit the file.",
            "CsvWrongColumnCount",
        )

    def value(name: str) -> str | None:
        index = columns.get(name)
        return None if index is None else values[index]

    email = _required(number, EMAIL_ADDRESS, value(EMAIL_ADDRESS)).strip()
    _check_address(number, email)
    given_name = value(USER_NAME)
    user_name = (_user_name(number, given_name)
                 if user_name_required or (given_name or "").strip() else email)
    password = Secret(_required(number, PASSWORD, value(PASSWORD)) if password_required
                      else _sendable(number, PASSWORD, value(PASSWORD) or ""))
    user_root = _optional(value(USER_ROOT))  # a folder path: a NUL fails on the server
    target_user_name, target_password = _target(number, value(TARGET_USER_NAME),
                                                value(TARGET_PASSWORD))
    return CsvUserRow(row_number=number, email_address=email, user_name=user_name,
                      password=password, user_root=user_root,
                      target_user_name=target_user_name, target_password=target_password)


def _required(number: int, column: str, given: str | None) -> str:
    if given is None or not given.strip():
        raise _invalid(
            f"Row {number} has an empty {column}. Please edit this row and re-submit the file.",
            "CsvEmptyValue",
        )
    return _sendable(number, column, given)


def _sendable(number: int, column: str, given: str) -> str:
    """Credentials travel in IMAP LOGIN strings and SASL PLAIN messages, which cannot carry
    NUL, CR or LF; refuse them here rather than at the first sync."""
    if any(ch in given for ch in "\0\r\n"):
        raise _invalid(
            f"Row {number} has a line break or NUL character in its {column}, which IMAP can't "
            "send. Please edit this row and re-submit the file.",
            "CsvUnsendableValue",
        )
    return given


def _user_name(number: int, given: str | None) -> str:
    name = _required(number, USER_NAME, given)
    if name != name.strip():
        raise _invalid(
            f"Row {number} has a UserName with leading or trailing spaces. Please remove them "
            "and re-submit the file.",
            "CsvUserNameSpaces",
        )
    return name


def _optional(given: str | None) -> str | None:
    if given is None or not given.strip():
        return None
    return given.strip()


def _target(number: int, user_name: str | None, password: str | None
            ) -> tuple[str | None, Secret | None]:
    name = _optional(user_name)
    secret = _sendable(number, TARGET_PASSWORD, password) if password else None
    if name is not None:
        _sendable(number, TARGET_USER_NAME, name)
    if (name is None) != (secret is None):
        raise _invalid(
            f"Row {number} has only one of {TARGET_USER_NAME} and {TARGET_PASSWORD}. Give both "
            "or neither, and re-submit the file.",
            "CsvTargetCredentials",
        )
    return name, Secret(secret) if secret is not None else None


# Dot-atom local part (RFC 5322 atext) and a domain of letters, digits and hyphens; Unicode
# letters are allowed (internationalised addresses, RFC 6531).
_ATEXT = r"[\w!#$%&'*+/=?^`{|}~-]"
_LOCAL = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_ADDRESS = re.compile(rf"({_LOCAL})@({_LABEL}(?:\.{_LABEL})*)")


def is_valid_address(email_address: str) -> bool:
    """Whether ``email_address`` is an SMTP address imsh accepts (local@domain)."""
    match = _ADDRESS.fullmatch(email_address)
    return match is not None and len(match.group(1)) <= 64 and len(match.group(2)) <= 255


def _check_address(number: int, email: str) -> None:
    if not is_valid_address(email):
        raise _invalid(
            f'Row {number} has an invalid EmailAddress "{email}". Enter an SMTP address such '
            "as user@contoso.com and re-submit the file.",
            "CsvInvalidEmailAddress",
        )


def _check_unique(users: list[CsvUserRow]) -> None:
    first_row: dict[str, int] = {}
    for user in users:
        key = address_key(user.email_address)
        if key in first_row:
            raise _invalid(
                f'Row {user.row_number} repeats the EmailAddress "{user.email_address}" of row '
                f"{first_row[key]}. Each user can be listed only once. Please edit this row and "
                "re-submit the file.",
                "CsvDuplicateEmailAddress",
            )
        first_row[key] = user.row_number


def _invalid(message: str, error_id: str) -> ValidationError:
    return ValidationError(message, error_id=error_id)
