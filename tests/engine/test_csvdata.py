"""The migration CSV: decoding, Exchange's checks with their messages, and the row numbers."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.csvdata import (
    CsvUserRow,
    address_key,
    check_not_in_other_batches,
    is_valid_address,
    parse_migration_csv,
)
from engine.errors import ValidationError
from engine.secrets import Secret

HEADER = "EmailAddress,UserName,Password\r\n"
DOC_SAMPLE = (
    "EmailAddress,UserName,Password\r\n"
    "terrya@contoso.edu,contoso\\terry.adams,1091990\r\n"
    "annb@contoso.edu,contoso\\ann.beebe,2111991\r\n"
    "paulc@contoso.edu,contoso\\paul.cannon,3281986\r\n"
)


def error_of(text: str | bytes, **options: bool) -> ValidationError:
    data = text.encode("utf-8") if isinstance(text, str) else text
    with pytest.raises(ValidationError) as caught:
        parse_migration_csv(data, **options)
    return caught.value


# --- accepted files ------------------------------------------------------------------------


def test_the_documented_sample_parses() -> None:
    users = parse_migration_csv(DOC_SAMPLE.encode())
    assert [(u.row_number, u.email_address, u.user_name, u.password.reveal()) for u in users] == [
        (1, "terrya@contoso.edu", "contoso\\terry.adams", "1091990"),
        (2, "annb@contoso.edu", "contoso\\ann.beebe", "2111991"),
        (3, "paulc@contoso.edu", "contoso\\paul.cannon", "3281986"),
    ]
    assert users[0].user_root is None and users[0].target_user_name is None


def test_user_root_column_and_case_insensitive_headers() -> None:
    text = (
        "emailaddress,USERNAME,password,UserRoot\n"
        "terrya@contoso.edu,mailadmin,P@ssw0rd,/users/terry.adams\n"
    )
    (user,) = parse_migration_csv(text.encode())
    assert (user.user_name, user.password.reveal(), user.user_root) == (
        "mailadmin", "P@ssw0rd", "/users/terry.adams"
    )


@pytest.mark.parametrize(
    "encode",
    [
        lambda s: s.encode("utf-8"),
        lambda s: codecs.BOM_UTF8 + s.encode("utf-8"),
        lambda s: s.encode("utf-16"),  # BOM + native order
        lambda s: codecs.BOM_UTF16_BE + s.encode("utf-16-be"),
    ],
    ids=["utf8", "utf8-bom", "utf16", "utf16-be"],
)
def test_encodings(encode: Callable[[str], bytes]) -> None:
    text = HEADER + "jürgen@exämple.de,jürgen,pässwörd\r\n"
    (user,) = parse_migration_csv(encode(text))
    assert (user.email_address, user.user_name, user.password.reveal()) == (
        "jürgen@exämple.de", "jürgen", "pässwörd"
    )


def test_quoted_fields_commas_and_blank_significant_passwords() -> None:
    text = HEADER + '"a@contoso.com","a","p,w ""x"" "\n'
    (user,) = parse_migration_csv(text.encode())
    assert user.password.reveal() == 'p,w "x" '


def test_blank_lines_are_neither_users_nor_counted() -> None:
    text = HEADER + "\n,,\na@contoso.com,a,pw\n\n  \nb@contoso.com,b,pw\n"
    users = parse_migration_csv(text.encode())
    assert [(u.row_number, u.email_address) for u in users] == [
        (1, "a@contoso.com"), (2, "b@contoso.com")
    ]


def test_windows_powershell_type_line_is_skipped() -> None:
    text = (
        "#TYPE System.Management.Automation.PSCustomObject\n"
        '"EmailAddress","UserName","Password"\n"a@contoso.com","a","pw"\n'
    )
    (user,) = parse_migration_csv(text.encode())
    assert user.email_address == "a@contoso.com"


def test_target_credentials_columns() -> None:
    text = (
        "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
        "a@contoso.com,a,pw,a-target,tpw\n"
        "b@contoso.com,b,pw,,\n"
    )
    first, second = parse_migration_csv(text.encode())
    assert (first.target_user_name, first.target_password) == ("a-target", Secret("tpw"))
    assert (second.target_user_name, second.target_password) == (None, None)


def test_unknown_columns_allowed_when_asked() -> None:
    text = "EmailAddress,UserName,Password,FirstName\na@contoso.com,a,pw,Ann\n"
    (user,) = parse_migration_csv(text.encode(), allow_unknown_columns=True)
    assert user.email_address == "a@contoso.com"


def test_passwords_stay_out_of_repr() -> None:
    (user,) = parse_migration_csv((HEADER + "a@contoso.com,a,s3cr3t-pw\n").encode())
    assert "s3cr3t-pw" not in repr(user)


# --- Exchange's documented messages ------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n", codecs.BOM_UTF8, "\n".encode("utf-16")])
def test_empty_file(data: bytes) -> None:
    assert error_of(data).message == "Upload file can't be empty"


def test_more_than_50000_rows() -> None:
    rows = "".join(f"u{i}@contoso.com,u{i},pw\n" for i in range(50_001))
    assert error_of(HEADER + rows).message == (
        "The CSV file contains more than 50,000 rows. Please divide the file into two or more "
        "files and submit them separately."
    )


def test_exactly_50000_rows_is_fine() -> None:
    rows = "".join(f"u{i}@contoso.com,u{i},pw\n" for i in range(50_000))
    assert len(parse_migration_csv((HEADER + rows).encode())) == 50_000


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("UserName,Password", "EmailAddress"),
        ("EmailAddress,Password", "UserName"),
        ("EmailAddress,UserName", "Password"),
    ],
)
def test_required_column_missing(header: str, missing: str) -> None:
    text = f"{header}\nx,y\n"
    assert error_of(text).message == (
        f'Column "{missing}" is missing from the CSV file. The import process can\'t continue '
        "because this column is required. Please edit the CSV file and re-submit it."
    )


def test_a_header_with_spaces_is_missing_the_column_when_unknown_allowed() -> None:
    text = "Email Address,UserName,Password\na@contoso.com,a,pw\n"
    assert error_of(text, allow_unknown_columns=True).message.startswith(
        'Column "EmailAddress" is missing from the CSV file.'
    )


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("a@contoso.com,a,pw,extra\n",
         "Row 1 has the wrong number of columns. Expected number: 3. Actual number: 4. "
         "Please edit this row and re-submit the file."),
        ("a@contoso.com,a,pw\nb@contoso.com,b\n",
         "Row 2 has the wrong number of columns. Expected number: 3. Actual number: 2. "
         "Please edit this row and re-submit the file."),
        ("a@contoso.com,a,pw\n\nb@contoso.com,b,pw\nc@contoso.com\n",
         "Row 3 has the wrong number of columns. Expected number: 3. Actual number: 1. "
         "Please edit this row and re-submit the file."),
    ],
)
def test_wrong_number_of_columns_names_the_row(rows: str, message: str) -> None:
    assert error_of(HEADER + rows).message == message


# --- imsh's messages for what Exchange checks without a documented text -----------------------


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("a@contoso.com,a,pw\nA@Contoso.COM,b,pw\n",
         'Row 2 repeats the EmailAddress "A@Contoso.COM" of row 1. Each user can be listed '
         "only once. Please edit this row and re-submit the file."),
        ("a@contoso.com,a,pw\nnot-an-address,b,pw\n",
         'Row 2 has an invalid EmailAddress "not-an-address". Enter an SMTP address such as '
         "user@contoso.com and re-submit the file."),
        ("a@contoso.com,,pw\n",
         "Row 1 has an empty UserName. Please edit this row and re-submit the file."),
        ("  ,a,pw\n",
         "Row 1 has an empty EmailAddress. Please edit this row and re-submit the file."),
        ("a@contoso.com,a,\n",
         "Row 1 has an empty Password. Please edit this row and re-submit the file."),
        ("a@contoso.com, a,pw\n",
         "Row 1 has a UserName with leading or trailing spaces. Please remove them and "
         "re-submit the file."),
    ],
)
def test_row_defects(rows: str, message: str) -> None:
    assert error_of(HEADER + rows).message == message


def test_only_one_target_credential() -> None:
    text = (
        "EmailAddress,UserName,Password,TargetUserName,TargetPassword\n"
        "a@contoso.com,a,pw,,tpw\n"
    )
    assert error_of(text).message == (
        "Row 1 has only one of TargetUserName and TargetPassword. Give both or neither, and "
        "re-submit the file."
    )


def test_header_only() -> None:
    assert error_of(HEADER).message == (
        "The CSV file doesn't contain any users. Add one row for each user below the header "
        "row and re-submit the file."
    )


def test_unknown_column_refused_by_default() -> None:
    text = "EmailAddress,UserName,Password,UserRot\na@contoso.com,a,pw,/x\n"
    error = error_of(text)
    assert error.message == (
        'Column "UserRot" isn\'t a known column of an IMAP migration CSV file (EmailAddress, '
        "UserName, Password, UserRoot, TargetUserName, TargetPassword). Correct the column "
        "name, or use -AllowUnknownColumnsInCsv $true to ignore unknown columns, and re-submit "
        "the file."
    )
    assert error.error_id == "CsvUnknownColumn"


def test_duplicate_column() -> None:
    text = "EmailAddress,UserName,Password,username\na@contoso.com,a,pw,b\n"
    assert error_of(text).message == (
        'Column "UserName" appears more than once in the CSV file. Please edit the CSV file and '
        "re-submit it."
    )


def test_unnamed_header_column() -> None:
    assert error_of("EmailAddress,UserName,Password,\na@contoso.com,a,pw,\n").message == (
        "Column 4 of the header row has no name. Please edit the header row and re-submit the "
        "file."
    )


def test_not_utf8() -> None:
    data = (HEADER + "a@contoso.com,j\xfcrgen,pw\n").encode("cp1252")
    assert error_of(data).message == (
        "The CSV file isn't valid UTF-8 text (byte 48). Save it with UTF-8 or UTF-16 (Unicode) "
        "encoding and re-submit it."
    )


@pytest.mark.parametrize(
    ("rows", "column"),
    [
        ("a@contoso.com,a,p\0w\n", "Password"),
        ('a@contoso.com,"a\nb",pw\n', "UserName"),
        ('a@contoso.com,a,"p\r\nw"\n', "Password"),
    ],
)
def test_credentials_imap_cannot_send(rows: str, column: str) -> None:
    assert error_of(HEADER + rows).message == (
        f"Row 1 has a line break or NUL character in its {column}, which IMAP can't send. "
        "Please edit this row and re-submit the file."
    )


def test_broken_quotes() -> None:
    assert error_of(HEADER + 'a@contoso.com,a,"pw\n').message == (
        "The CSV file can't be read near line 2: unexpected end of data. Please edit the file "
        "and re-submit it."
    )


def test_larger_than_10_mb() -> None:
    data = (HEADER + "a@contoso.com,a," + "x" * (10 * 1024 * 1024) + "\n").encode()
    assert error_of(data).error_id == "CsvTooLarge"


# --- users already in other batches --------------------------------------------------------


def test_user_in_another_batch_names_row_and_batch() -> None:
    users = parse_migration_csv(DOC_SAMPLE.encode())
    check_not_in_other_batches(users, {"someone@else.com": "Other"})
    with pytest.raises(ValidationError) as caught:
        check_not_in_other_batches(users, {address_key("AnnB@Contoso.edu"): "IMAPBatch1"})
    assert caught.value.message == (
        'Row 2: the user "annb@contoso.edu" is already in the migration batch "IMAPBatch1". '
        "Remove the user from that batch or from this file and re-submit it."
    )


@pytest.mark.parametrize(
    ("address", "valid"),
    [
        ("terrya@contoso.edu", True),
        ("first.last+tag@sub.contoso.co.uk", True),
        ("user1@localhost", True),
        ("jürgen@exämple.de", True),
        ("no-at-sign", False),
        ("two@@contoso.com", False),
        ("a@b@contoso.com", False),
        (".dot@contoso.com", False),
        ("dot.@contoso.com", False),
        ("a..b@contoso.com", False),
        ("a b@contoso.com", False),
        ("a@-contoso.com", False),
        ("a@contoso..com", False),
        ("a@", False),
        ("@contoso.com", False),
        ("x" * 65 + "@contoso.com", False),
    ],
)
def test_address_syntax(address: str, valid: bool) -> None:
    assert is_valid_address(address) is valid


# --- properties ------------------------------------------------------------------------------

_plain = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1
)
_user = st.fixed_dictionaries(
    {
        "local": st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,10}[a-z0-9]", fullmatch=True).filter(
            lambda s: ".." not in s
        ),
        "user_name": _plain.filter(lambda s: s == s.strip() and bool(s.strip())),
        "password": _plain.filter(lambda s: bool(s.strip())),
    }
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_user, min_size=1, max_size=8, unique_by=lambda u: u["local"]),
       st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_round_trip_of_valid_rows(users: list[dict[str, str]], encoding: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(["EmailAddress", "UserName", "Password"])
    for user in users:
        writer.writerow([f"{user['local']}@contoso.com", user["user_name"], user["password"]])
    parsed = parse_migration_csv(buffer.getvalue().encode(encoding))
    assert parsed == [
        CsvUserRow(n, f"{u['local']}@contoso.com", u["user_name"], Secret(u["password"]))
        for n, u in enumerate(users, 1)
    ]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_raise_only_validation_errors(data: bytes) -> None:
    assert_valid_or_refused(data, allow_unknown_columns=True)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from('EmailAddress,UserName,Password@a.b"\r\n \x00'),
               max_size=200))
def test_random_csvish_text_raises_only_validation_errors(text: str) -> None:
    assert_valid_or_refused(text.encode("utf-8"))


def assert_valid_or_refused(data: bytes, **options: bool) -> None:
    """Either a clear refusal, or users that satisfy every documented rule."""
    try:
        users = parse_migration_csv(data, **options)
    except ValidationError as refusal:
        assert refusal.message and refusal.category == "InvalidArgument"
        return
    assert 1 <= len(users) <= 50_000
    assert all(is_valid_address(user.email_address) for user in users)
    assert len({address_key(user.email_address) for user in users}) == len(users)
    assert [user.row_number for user in users] == list(range(1, len(users) + 1))


@pytest.mark.parametrize(("text", "name"), [
    ("EmailAddress;UserName;Password\na@contoso.com;a;pw\n", "semicolons"),
    ("EmailAddress\tUserName\tPassword\na@contoso.com\ta\tpw\n", "tabs"),
    # Excel in a European locale quotes every field: the CSV reader alone saw a broken quote
    ('"EmailAddress";"UserName";"Password"\r\n"a@contoso.com";"a";"pw"\r\n', "semicolons"),
    ('#TYPE x\n"EmailAddress"\t"UserName"\t"Password"\n', "tabs"),
])
def test_a_file_saved_with_another_delimiter_is_named_as_such(text: str, name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_migration_csv(text.encode())
    assert caught.value.error_id == "CsvWrongDelimiter"
    assert f"separates its columns with {name}" in caught.value.message


def test_a_gmail_csv_needs_the_email_address_only_and_signs_in_as_it() -> None:
    rows = parse_migration_csv(b"EmailAddress\r\nann@contoso.com\r\nbob@contoso.com\r\n",
                               password_required=False, user_name_required=False)
    assert [(r.email_address, r.user_name) for r in rows] == [
        ("ann@contoso.com", "ann@contoso.com"), ("bob@contoso.com", "bob@contoso.com")]
    given = parse_migration_csv(b"EmailAddress,UserName\r\nann@contoso.com,ann@gmail.test\r\n"
                                b"bob@contoso.com,\r\n", password_required=False,
                                user_name_required=False)
    assert [r.user_name for r in given] == ["ann@gmail.test", "bob@contoso.com"]
    # any other source still needs its UserName column
    assert "UserName" in error_of("EmailAddress\r\nann@contoso.com\r\n",
                                  password_required=False).message
