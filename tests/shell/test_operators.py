"""Operator semantics: case rules, type conversion, collection filtering, wildcards, regex."""

from __future__ import annotations

import datetime as dt

import pytest

from shell.lang.operators import (
    OperatorError,
    add,
    compare,
    divide,
    like,
    modulo,
    multiply,
    range_values,
    sort_order,
    subtract,
    truthy,
)
from shell.lang.textformat import FormatError, format_date, format_operator
from shell.objects import Hashtable


def cmp(op: str, left: object, right: object) -> object:
    return compare(op, left, right)[0]


@pytest.mark.parametrize(("op", "left", "right", "result"), [
    ("eq", "ABC", "abc", True),
    ("ceq", "ABC", "abc", False),
    ("ieq", "ABC", "abc", True),
    ("eq", 1, "1.0", True),  # right converted to the left's type
    ("eq", "1.0", 1, False),
    ("eq", 1, "abc", False),
    ("ne", "a", "b", True),
    ("gt", 10, "9", True),
    ("gt", "10", "9", False),  # string comparison
    ("lt", "apple", "Banana", True),
    ("ge", None, None, True),
    ("lt", None, 1, True),
    ("eq", True, "False", True),  # non-empty string is $true
    ("eq", None, None, True),
    ("eq", None, 0, False),
])
def test_scalar_comparisons(op: str, left: object, right: object, result: bool) -> None:
    assert cmp(op, left, right) is result


def test_collection_on_left_filters() -> None:
    assert cmp("eq", [1, 2, 3, 2], 2) == [2, 2]
    assert cmp("ne", [1, 2, 3], 2) == [1, 3]
    assert cmp("gt", [1, 5, 10], 4) == [5, 10]
    assert cmp("like", ["Synced", "Failed", "SyncedWithErrors"], "synced*") == [
        "Synced", "SyncedWithErrors"]
    assert cmp("eq", [1, 2], 9) == []


def test_containment_always_returns_bool() -> None:
    assert cmp("contains", ["a", "B"], "b") is True
    assert cmp("ccontains", ["a", "B"], "b") is False
    assert cmp("notcontains", [1, 2], 3) is True
    assert cmp("in", "Failed", ["Synced", "failed"]) is True
    assert cmp("notin", 3, [1, 2]) is True
    assert cmp("contains", "abc", "b") is False  # a scalar is a one-element collection


@pytest.mark.parametrize(("value", "pattern", "result"), [
    ("IMAPBatch1", "imap*", True), ("abc", "a?c", True), ("abc", "a?", False),
    ("b1", "[a-c]1", True), ("d1", "[a-c]1", False), ("a*b", "a`*b", True), ("axb", "a`*b", False),
    ("x.csv", "*.csv", True),
])
def test_wildcards(value: str, pattern: str, result: bool) -> None:
    assert like(value, pattern) is result



def test_sort_order_follows_comparison_and_never_fails() -> None:
    assert sort_order(None, 0) == -1 and sort_order(0, None) == 1  # $null sorts first
    assert sort_order(3, "10") == -1  # the right side becomes a number
    assert sort_order("10", 9) == -1  # ... or a string, by the left side
    assert sort_order("b", "A") == 1 and sort_order("b", "A", case=True) == 1
    assert sort_order("a", "A") == 0
    assert sort_order(1, "abc") == -1  # not comparable as numbers: ordered by text
    assert sort_order(dt.datetime(2026, 1, 2), "2026-01-01") == 1

def test_match_sets_groups_for_scalar_only() -> None:
    found, matches = compare("match", "user@contoso.com", r"^(?<user>[^@]+)@(.+)$")
    assert found is True
    assert matches is not None
    assert (matches[0], matches["user"], matches[2]) == ("user@contoso.com", "user",
                                                        "contoso.com")
    filtered, none = compare("match", ["a1", "b2", "a3"], "^A")
    assert (filtered, none) == (["a1", "a3"], None)
    assert compare("cmatch", "ABC", "abc") == (False, None)


def test_replace_split_join() -> None:
    assert cmp("replace", "a-b-c", ["-", "+"]) == "a+b+c"
    assert cmp("replace", "John Smith", [r"(\w+) (\w+)", "$2, $1"]) == "Smith, John"
    assert cmp("replace", "aXbx", "x") == "ab"
    assert cmp("creplace", "aXbx", "x") == "aXb"
    assert cmp("replace", ["ab", "cb"], ["b", "!"]) == ["a!", "c!"]
    assert cmp("split", "a,b,,c", ",") == ["a", "b", "", "c"]
    assert cmp("join", [1, 2, 3], "-") == "1-2-3"


def test_arithmetic_follows_the_left_operand() -> None:
    assert add(1, "2") == 3
    assert add("1", 2) == "12"
    assert add([1, 2], 3) == [1, 2, 3]
    assert add([1], [2, 3]) == [1, 2, 3]
    assert add(None, 5) == 5
    assert multiply("ab", 3) == "ababab"
    assert divide(7, 2) == 3.5
    assert divide(6, 2) == 3
    assert modulo(-7, 3) == -1
    assert subtract(dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 1)) == dt.timedelta(days=1)
    merged = add(Hashtable({"a": 1}), Hashtable({"B": 2}))
    assert dict(merged) == {"a": 1, "B": 2}


def test_arithmetic_errors_have_powershell_messages() -> None:
    with pytest.raises(OperatorError, match=r"Attempted to divide by zero\."):
        divide(1, 0)
    with pytest.raises(OperatorError) as info:
        add(1, "abc")
    assert info.value.message == ('Cannot convert value "abc" to type "System.Int32". '
                                  'Error: "Input string was not in a correct format."')
    with pytest.raises(OperatorError, match="Item has already been added"):
        add(Hashtable({"a": 1}), Hashtable({"A": 2}))


@pytest.mark.parametrize(("value", "result"), [
    (None, False), (0, False), ("", False), ("False", True), ([], False), ([0], False),
    ([0, 0], True), (Hashtable(), True), (0.0, False), ("0", True),
])
def test_truthiness(value: object, result: bool) -> None:
    assert truthy(value) is result


def test_ranges() -> None:
    assert range_values(1, 4) == [1, 2, 3, 4]
    assert range_values(3, 1) == [3, 2, 1]


def test_format_operator() -> None:
    assert format_operator("{0} has {1:N0} items ({2:P1})", ["b1", 12345, 0.5]) == (
        "b1 has 12,345 items (50.0 %)")
    assert format_operator("[{0,5}|{0,-5}]", ["ab"]) == "[   ab|ab   ]"
    assert format_operator("{{literal}} {0:0.00}", [2]) == "{literal} 2.00"
    with pytest.raises(FormatError):
        format_operator("{1}", ["only one"])


def test_date_formats() -> None:
    moment = dt.datetime(2024, 3, 7, 14, 5, 9)
    assert format_date(moment, "yyyy-MM-dd HH:mm:ss") == "2024-03-07 14:05:09"
    assert format_date(moment, "dd MMM yyyy h:mm tt") == "07 Mar 2024 2:05 PM"
    assert format_date(moment, "s") == "2024-03-07T14:05:09"
