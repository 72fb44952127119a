"""Golden tests for the default table view and the table layout (PowerShell 7 behaviour)."""

from __future__ import annotations

from cmdlets.base import PSObject
from shell.format import render
from shell.format.table import Column, table_lines
from shell.objects import Hashtable


def test_group_object_example_layout() -> None:
    # Group-Object.md example: "Count Name  Group" with Count right-aligned, header underlined
    # by dashes as long as each label, blank lines around the table, no trailing spaces.
    groups = [
        PSObject({"Count": 2, "Name": "Failed", "Group": ["u1@contoso.com", "u2@contoso.com"]},
                 view="table"),
        PSObject({"Count": 12, "Name": "Synced", "Group": ["a", "b", "c", "d", "e"]},
                 view="table"),
    ]
    assert render(groups) == (
        "\n"
        "Count Name   Group\n"
        "----- ----   -----\n"
        "    2 Failed {u1@contoso.com, u2@contoso.com}\n"
        "   12 Synced {a, b, c, d…}\n"
        "\n"
    )


def test_four_properties_make_a_table_five_make_a_list() -> None:
    # ps101/03-discovering-objects: "four properties as a table and five or more as a list".
    four = PSObject({"A": 1, "B": "x", "C": None, "D": True})
    five = PSObject({"A": 1, "B": "x", "C": None, "D": True, "Elongated": 2.5})
    assert render([four]) == "\nA B C D\n- - - -\n1 x   True\n\n"
    assert render([five]) == (
        "\n"
        "A         : 1\n"
        "B         : x\n"
        "C         :\n"
        "D         : True\n"
        "Elongated : 2.5\n"
        "\n"
    )


def test_strings_and_numbers_one_per_line_and_null_shows_nothing() -> None:
    assert render(["a", 1, None, 2.5, ["b", "c"]]) == "a\n1\n2.5\nb\nc\n"


def test_records_of_a_new_shape_start_a_new_table() -> None:
    first = PSObject({"Name": "b1"}, ("Imsh.Batch",))
    second = PSObject({"Identity": "u1"}, ("Imsh.User",))
    assert render([first, second]) == "\nName\n----\nb1\n\n\nIdentity\n--------\nu1\n\n"


def test_too_wide_cells_are_cut_with_an_ellipsis() -> None:
    # PowerShell 7 (PR #8326) cuts with the single character "…".
    row = PSObject({"Identity": "user@contoso.com", "Error": "x" * 50})
    text = render([row], width=40)
    assert text.splitlines()[3] == "user@contoso.com xxxxxxxxxxxxxxxxxxxxxx…"
    assert all(len(line) <= 40 for line in text.splitlines())


def test_columns_that_cannot_fit_are_dropped_from_the_right() -> None:
    lines = table_lines([Column("AAAAA"), Column("BBBBB"), Column("CCCCC")],
                        [["a", "b", "c"]], width=11)
    assert lines == ["AAAAA BBBBB", "----- -----", "a     b"]


def test_wrap_continues_long_values_on_next_lines() -> None:
    lines = table_lines([Column("Id"), Column("Text")], [[1, "one two three"]], width=12,
                        wrap_cells=True)
    assert lines == ["Id Text", "-- ----", " 1 one two", "   three"]


def test_hide_headers_still_sizes_columns_by_the_header() -> None:
    # PowerShell issue #7309: headers count for the width even when hidden.
    lines = table_lines([Column("aaaaaaaa"), Column("b")], [[1, 2]], hide_headers=True)
    assert lines == ["       1 2"]


def test_hashtable_shows_name_value_table_with_30_wide_name() -> None:
    text = render([Hashtable({"Status": "Synced"})])
    assert text == (
        "\n"
        "Name                           Value\n"
        "----                           -----\n"
        "Status                         Synced\n"
        "\n"
    )


def test_wide_characters_count_two_columns() -> None:
    text = render([PSObject({"Name": "日本", "N": 1}), PSObject({"Name": "abcde", "N": 2})])
    assert text.splitlines()[3] == "日本  1"
