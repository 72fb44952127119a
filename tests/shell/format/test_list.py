"""Golden tests for the list view, value display (dates, arrays, secrets) and render."""

from __future__ import annotations

import datetime as dt

from cmdlets.base import PSObject
from engine.secrets import Secret
from shell.format import render
from shell.format.formatted import FormattedList, TextBlock
from shell.format.listing import list_lines
from shell.format.values import cell_text


def test_measure_object_example_layout() -> None:
    # Measure-Object.md (PowerShell 7): names padded to the longest, then " : value".
    record = PSObject({"Count": 3, "Average": None, "Sum": 6, "Property": "Size"}, view="list")
    assert render([record]) == "\nCount    : 3\nAverage  :\nSum      : 6\nProperty : Size\n\n"


def test_each_record_follows_a_blank_line() -> None:
    records = [PSObject({"A": 1}, view="list"), PSObject({"A": 2}, view="list")]
    assert render(records) == "\nA : 1\n\nA : 2\n\n"


def test_long_and_multiline_values_continue_under_the_value_column() -> None:
    lines = list_lines([("Error", "line one\nline two"), ("Id", "x " * 10)], width=20)
    assert lines == [
        "Error : line one", "        line two", "Id    : x x x x x x", "        x x x x"]


def test_dates_show_in_en_us_and_get_date_shows_long_form() -> None:
    moment = dt.datetime(2026, 11, 25, 20, 7, 0)
    assert cell_text(moment) == "11/25/2026 8:07:00 PM"
    assert cell_text(dt.datetime(2026, 1, 5, 0, 3, 9)) == "1/5/2026 12:03:09 AM"
    assert render([moment]) == "\nWednesday, November 25, 2026 8:07:00 PM\n\n"


def test_arrays_show_in_braces_limited_to_four() -> None:
    # Get-Service example "RequiredServices : {}" and $FormatEnumerationLimit = 4.
    assert cell_text([]) == "{}"
    assert cell_text(["a", "b"]) == "{a, b}"
    assert cell_text([1, 2, 3, 4, 5]) == "{1, 2, 3, 4…}"


def test_secret_values_are_masked() -> None:
    record = PSObject({"Name": "src", "Password": Secret("hunter2"), "A": 1, "B": 2, "C": 3})
    text = render([record])
    assert "Password : ********" in text
    assert "hunter2" not in text


def test_format_objects_pass_through_untouched() -> None:
    block = TextBlock(("  keep   spacing  ",))
    assert render([block]) == "  keep   spacing  \n"
    assert render([FormattedList(((("X", 1),),))]) == "\nX : 1\n\n"
