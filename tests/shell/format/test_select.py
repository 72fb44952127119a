"""Tests for property selection: wildcards, calculated properties and key validation."""

from __future__ import annotations

import pytest

from cmdlets.base import CmdletError, PSObject
from shell.format.select import parse_specs, resolve, select_record
from shell.objects import Hashtable
from shell.wildcard import has_wildcards, wildcard_match
from tests.shell.builtins.fakes import Block, FakeContext

STATS = PSObject({"Identity": "u1", "LastSuccessfulSyncTimestamp": "t1",
                  "LastSyncTime": "t2", "MaxSize": 9, "MaxCount": 3, "Status": "Synced"})


def test_wildcards_match_like_powershell() -> None:
    assert wildcard_match("*last*sync*", "LastSuccessfulSyncTimestamp")
    assert wildcard_match("Max?ize", "maxsize")
    assert wildcard_match("[a-c]*", "Batch")
    assert not wildcard_match("Max*", "TheMax")
    assert wildcard_match("a`*", "a*") and not wildcard_match("a`*", "ab")
    assert has_wildcards("Max*") and not has_wildcards("Name") and not has_wildcards("a`*")


def test_resolve_expands_wildcards_in_property_order_without_duplicates() -> None:
    specs = resolve(STATS, parse_specs(["Identity", "Max*", "*last*sync*", "MaxSize"]))
    assert [s.name for s in specs] == ["Identity", "MaxSize", "MaxCount",
                                       "LastSuccessfulSyncTimestamp", "LastSyncTime"]


def test_plain_missing_name_kept_wildcard_without_match_dropped() -> None:
    specs = resolve(STATS, parse_specs(["Nope", "Zz*"]))
    assert [s.name for s in specs] == ["Nope"]


def test_exclusions_apply_to_wildcard_results() -> None:
    specs = resolve(STATS, parse_specs(["*"]), exclude=["Last*", "Max*"])
    assert [s.name for s in specs] == ["Identity", "Status"]


def test_calculated_properties_with_abbreviated_keys() -> None:
    ctx = FakeContext()
    specs = parse_specs([
        "Identity",
        Hashtable({"n": "Size (KB)", "e": Block(lambda o: o.get("MaxSize") * 1024)}),
        Hashtable({"Label": "Stat", "Expression": "Status"}),
    ])
    record = select_record(ctx, STATS, resolve(STATS, specs), "Selected.Imsh.Stats")
    assert record.properties == {"Identity": "u1", "Size (KB)": 9216, "Stat": "Synced"}
    assert record.type_name == "Selected.Imsh.Stats"


def test_invalid_or_missing_keys_are_errors() -> None:
    with pytest.raises(CmdletError, match='"Colour" key is not valid'):
        parse_specs([Hashtable({"Name": "x", "Colour": 1, "Expression": "a"})])
    with pytest.raises(CmdletError, match="Expression"):
        parse_specs([Hashtable({"Name": "x"})])
