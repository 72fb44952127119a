"""Golden tests for ConvertTo-Json's text (PowerShell 7: Json.NET indented, depth 2)."""

from __future__ import annotations

import datetime as dt
import enum

from cmdlets.base import PSObject
from shell.format.jsontext import JsonOptions, from_json, to_json
from shell.objects import Hashtable


def test_indented_layout_two_spaces() -> None:
    record = PSObject({"Identity": "b1", "TotalCount": 2, "Users": ["u1", "u2"], "Tags": [],
                       "Extra": Hashtable(), "Ratio": 0.5, "Done": False, "Note": None})
    assert to_json(record) == (
        "{\n"
        '  "Identity": "b1",\n'
        '  "TotalCount": 2,\n'
        '  "Users": [\n'
        '    "u1",\n'
        '    "u2"\n'
        "  ],\n"
        '  "Tags": [],\n'
        '  "Extra": {},\n'
        '  "Ratio": 0.5,\n'
        '  "Done": false,\n'
        '  "Note": null\n'
        "}"
    )


def test_compress() -> None:
    assert to_json([1, "a"], JsonOptions(compress=True)) == '[1,"a"]'


def test_depth_two_turns_deeper_containers_into_strings() -> None:
    # about ConvertTo-Json -Depth: @{a=@{b=@{c=@{d=1}}}} at the default depth 2.
    nested = Hashtable({"a": Hashtable({"b": Hashtable({"c": Hashtable({"d": 1})})})})
    options = JsonOptions()
    text = to_json(nested, options)
    assert '"c": "System.Collections.Hashtable"' in text
    assert options.truncated
    deeper = JsonOptions(depth=5)
    assert '"d": 1' in to_json(nested, deeper) and not deeper.truncated


def test_dates_enums_and_escapes() -> None:
    class Status(enum.Enum):
        Synced = 3

    value = Hashtable({"When": dt.datetime(2026, 11, 25, 20, 7, 0, 500000),
                       "UtcWhen": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                       "Status": Status.Synced, "Text": 'é"\t'})
    text = to_json(value, JsonOptions(compress=True))
    assert text == ('{"When":"2026-11-25T20:07:00.5","UtcWhen":"2026-01-01T00:00:00Z",'
                    '"Status":3,"Text":"é\\"\\t"}')
    assert '"Status":"Synced"' in to_json(value, JsonOptions(compress=True, enums_as_strings=True))


def test_from_json_makes_records() -> None:
    value = from_json('{"Name": "b1", "Users": [{"Id": 1}]}')
    assert isinstance(value, PSObject)
    assert value.get("name") == "b1"
    assert value.get("Users")[0].get("Id") == 1
    assert isinstance(from_json('{"a": 1}', as_hashtable=True), Hashtable)
