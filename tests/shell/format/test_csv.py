"""Golden tests for the CSV writer and reader (Export-Csv.md / ConvertTo-Csv.md, PowerShell 7)."""

from __future__ import annotations

import datetime as dt

import pytest

from cmdlets.base import CmdletError, PSObject
from shell.format.csvtext import parse_csv, split_records, to_csv


def test_every_field_quoted_and_null_is_two_commas() -> None:
    # Export-Csv.md NOTES: "$null ... represented by two consecutive commas".
    rows = [PSObject({"Identity": "u1@contoso.com", "Error": None, "Count": 3})]
    assert to_csv(rows) == ['"Identity","Error","Count"', '"u1@contoso.com",,"3"']


def test_header_from_first_object_and_extra_properties_dropped() -> None:
    rows = [PSObject({"A": "1"}), PSObject({"B": "2", "A": "3", "C": "4"})]
    assert to_csv(rows) == ['"A"', '"1"', '"3"']


def test_embedded_quotes_doubled_and_newlines_kept_inside_quotes() -> None:
    rows = [PSObject({"Text": 'say "hi", then\nleave'})]
    assert to_csv(rows) == ['"Text"', '"say ""hi"", then\nleave"']


def test_use_quotes_as_needed_and_never() -> None:
    rows = [PSObject({"A": "plain", "B": "a,b", "C": 'q"'})]
    assert to_csv(rows, use_quotes="AsNeeded") == ["A,B,C", 'plain,"a,b","q"""']
    assert to_csv(rows, use_quotes="Never") == ["A,B,C", 'plain,a,b,q"']
    with pytest.raises(CmdletError):
        to_csv(rows, use_quotes="Sometimes")


def test_delimiter_and_type_line() -> None:
    rows = [PSObject({"A": 1, "B": 2}, ("Selected.Imsh.User",))]
    assert to_csv(rows, delimiter=";", include_type=True) == [
        "#TYPE Selected.Imsh.User", '"A";"B"', '"1";"2"']


def test_values_use_dotnet_tostring() -> None:
    rows = [PSObject({"L": [1, 2], "D": dt.datetime(2026, 11, 25, 20, 7), "B": True})]
    assert to_csv(rows)[1] == '"System.Object[]","11/25/2026 8:07:00 PM","True"'


def test_strings_export_their_length() -> None:
    # ConvertTo-Csv of strings shows the Length property, the string's only property.
    assert to_csv(["ab", "xyz"]) == ['"Length"', '"2"', '"3"']


def test_reader_handles_quotes_newlines_delimiter_and_type_line() -> None:
    text = '#TYPE Imsh.User\r\n"Name";"Note"\r\n"a";"x;""y""\r\nz"\r\n\r\nb;\n'
    records = parse_csv(text, delimiter=";")
    assert [r.properties for r in records] == [
        {"Name": "a", "Note": 'x;"y"\r\nz'}, {"Name": "b", "Note": ""}]
    assert records[0].type_name == "CSV:Imsh.User"


def test_reader_missing_field_is_null_and_header_option() -> None:
    records = parse_csv("1\n2,3,4\n", header=["A", "B"])
    assert [r.properties for r in records] == [{"A": "1", "B": None}, {"A": "2", "B": "3"}]


def test_round_trip_gives_the_same_strings() -> None:
    original = [
        PSObject({"EmailAddress": "jöhn@contoso.com", "Password": 'p,"w\nx', "Root": None}),
        PSObject({"EmailAddress": "日本@contoso.com", "Password": "", "Root": "r"}),
    ]
    back = parse_csv("\n".join(to_csv(original)) + "\n")
    assert [r.properties for r in back] == [
        {"EmailAddress": "jöhn@contoso.com", "Password": 'p,"w\nx', "Root": ""},
        {"EmailAddress": "日本@contoso.com", "Password": "", "Root": "r"},
    ]


def test_duplicate_header_is_an_error() -> None:
    with pytest.raises(CmdletError, match='member "A" is already present'):
        parse_csv("a,A\n1,2\n")


def test_split_records_ignores_blank_lines() -> None:
    assert split_records("a\n\nb\n") == [["a"], ["b"]]
