"""Where-Object, ForEach-Object, Select-Object, Sort-Object, Group-Object, Measure-Object."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest

from cmdlets.base import CmdletError, PSObject
from cmdlets.registry import Registry
from shell.builtins import BUILTIN_CMDLETS
from shell.builtins.aggregate import GroupObject, MeasureObject, SortObject
from shell.builtins.pipeline import ForEachObject, SelectObject, WhereObject
from shell.format import render
from shell.objects import Hashtable
from shell.session import Session
from tests.shell.builtins.fakes import Block, FakeContext, run
from tests.shell.lang_helpers import GetCounter

USERS = [
    PSObject({"Identity": "c@x.com", "Status": "Failed", "Items": 10}, ("Imsh.MigrationUser",)),
    PSObject({"Identity": "a@x.com", "Status": "Synced", "Items": 200}, ("Imsh.MigrationUser",)),
    PSObject({"Identity": "B@x.com", "Status": "failed", "Items": 30}, ("Imsh.MigrationUser",)),
]


def ids(objects: list[PSObject]) -> list[str]:
    return [o.get("Identity") for o in objects]


def test_where_filter_script_and_simplified_syntax() -> None:
    ctx = FakeContext()
    failed = Block(lambda u: u.get("Status").lower() == "failed")
    assert ids(run(WhereObject, ctx, USERS, FilterScript=failed)) == ["c@x.com", "B@x.com"]
    assert ids(run(WhereObject, ctx, USERS, Property="Status", Value="Failed", EQ=True)) == \
        ["c@x.com", "B@x.com"]
    assert ids(run(WhereObject, ctx, USERS, Property="Status", Value="Failed", CEQ=True)) == \
        ["c@x.com"]
    assert ids(run(WhereObject, ctx, USERS, Property="Items", Value="25", GT=True)) == \
        ["a@x.com", "B@x.com"]
    assert ids(run(WhereObject, ctx, USERS, Property="Identity", Value="?@x.*",
                   Like=True)) == ids(USERS)
    assert ids(run(WhereObject, ctx, USERS, Property="Identity", Value="^b", Match=True)) == \
        ["B@x.com"]
    assert ids(run(WhereObject, ctx, USERS, Property="Status",
                   Value=["Synced", "Stopped"], In=True)) == ["a@x.com"]


def test_where_truthiness_and_not() -> None:
    rows = [PSObject({"N": "a", "Error": ""}), PSObject({"N": "b", "Error": "boom"})]
    ctx = FakeContext()
    assert [r.get("N") for r in run(WhereObject, ctx, rows, Property="Error")] == ["b"]
    assert [r.get("N") for r in run(WhereObject, ctx, rows, Property="Error", Not=True)] == ["a"]


def test_foreach_begin_process_end_and_member_name() -> None:
    ctx = FakeContext()
    out = run(ForEachObject, ctx, [1, 2], Begin=Block(lambda _: "start"),
              Process=Block(lambda n: n * 10), End=Block(lambda _: "end"))
    assert out == ["start", 10, 20, "end"]
    assert run(ForEachObject, ctx, USERS, MemberName="Identity") == ids(USERS)
    assert run(ForEachObject, ctx, ["ab"], MemberName="ToUpper") == ["AB"]


def test_select_properties_first_last_skip_unique() -> None:
    ctx = FakeContext()
    out = run(SelectObject, ctx, USERS, Property=["Identity", "Sta*"], First=2)
    assert [o.properties for o in out] == [
        {"Identity": "c@x.com", "Status": "Failed"}, {"Identity": "a@x.com", "Status": "Synced"}]
    assert out[0].type_names[0] == "Selected.Imsh.MigrationUser"
    assert ids(run(SelectObject, ctx, USERS, Last=1)) == ["B@x.com"]
    assert ids(run(SelectObject, ctx, USERS, Skip=1, First=1)) == ["a@x.com"]
    assert run(SelectObject, ctx, [1, 1, 2, 1], Unique=True) == [1, 2]



def test_select_first_stops_after_the_last_wanted_object() -> None:
    produced: list[int] = []

    def counting() -> Iterator[int]:
        for n in range(1, 1_000_000):
            produced.append(n)
            yield n

    assert run(SelectObject, FakeContext(), counting(), First=2) == [1, 2]
    assert produced == [1, 2]
    assert run(SelectObject, FakeContext(), counting(), First=0) == []


def test_select_first_stops_upstream_in_the_real_session() -> None:
    GetCounter.produced.clear()
    out, err = io.StringIO(), io.StringIO()
    session = Session(Registry((*BUILTIN_CMDLETS, GetCounter)), engine_factory=lambda: None,
                      stdout=out, stderr=err)
    started = time.monotonic()
    session.run("1..1000000 | Select-Object -First 2; Get-Counter | Select-Object -First 3 | "
                "Sort-Object -Descending; $n = 0; 1..1000000 | % { $n++; $_ } | select -f 1; $n")
    assert time.monotonic() - started < 2  # the million are never enumerated
    assert err.getvalue() == ""
    assert out.getvalue().split() == ["1", "2", "3", "2", "1", "1", "1"]
    assert GetCounter.produced == [1, 2, 3]  # the upstream cmdlet was closed, end still ran

def test_select_exclude_and_expand_property() -> None:
    ctx = FakeContext()
    out = run(SelectObject, ctx, USERS[:1], ExcludeProperty=["Items"])
    assert out[0].properties == {"Identity": "c@x.com", "Status": "Failed"}
    assert run(SelectObject, ctx, USERS, ExpandProperty="Identity") == ids(USERS)
    listing = PSObject({"Name": "b", "Users": ["u1", "u2"]})
    assert run(SelectObject, ctx, [listing], ExpandProperty="Users") == ["u1", "u2"]


def test_expand_property_errors_as_powershell() -> None:
    ctx = FakeContext()
    assert run(SelectObject, ctx, USERS[:1], ExpandProperty="Nope") == []
    assert str(ctx.errors[0]) == 'Property "Nope" cannot be found.'
    assert run(SelectObject, ctx, USERS[:1], ExpandProperty="I*") == []
    assert isinstance(ctx.errors[1], CmdletError)
    assert ctx.errors[1].error_id == "MutlipleExpandProperties"


def test_sort_case_insensitive_stable_multi_key_descending() -> None:
    ctx = FakeContext()
    assert ids(run(SortObject, ctx, USERS, Property=["Identity"])) == \
        ["a@x.com", "B@x.com", "c@x.com"]
    assert ids(run(SortObject, ctx, USERS, Property=["Status", "Items"])) == \
        ["c@x.com", "B@x.com", "a@x.com"]
    assert ids(run(SortObject, ctx, USERS, Property=["Items"], Descending=True)) == \
        ["a@x.com", "B@x.com", "c@x.com"]
    calculated = Hashtable({"Expression": "Items", "Descending": True})
    assert ids(run(SortObject, ctx, USERS, Property=["Status", calculated])) == \
        ["B@x.com", "c@x.com", "a@x.com"]
    assert run(SortObject, ctx, [3, None, 10, 2]) == [None, 2, 3, 10]
    assert run(SortObject, ctx, ["b", "B", "a"], Unique=True) == ["a", "b"]


def test_group_object_records_and_display() -> None:
    ctx = FakeContext()
    groups = run(GroupObject, ctx, USERS, Property=["Status"])
    assert [(g.get("Count"), g.get("Name")) for g in groups] == [(2, "Failed"), (1, "Synced")]
    assert render(groups) == (
        "\nCount Name   Group\n----- ----   -----\n"
        "    2 Failed {c@x.com, B@x.com}\n    1 Synced {a@x.com}\n\n")
    table = run(GroupObject, ctx, USERS, Property=["Status"], AsHashTable=True)[0]
    assert ids(table["FAILED"]) == ["c@x.com", "B@x.com"]


def test_measure_object_list_view() -> None:
    ctx = FakeContext()
    result = run(MeasureObject, ctx, USERS, Property=["Items"], Sum=True, Average=True,
                 Maximum=True, Minimum=True)
    assert render(result) == (
        "\n"
        "Count             : 3\n"
        "Average           : 80\n"
        "Sum               : 240\n"
        "Maximum           : 200\n"
        "Minimum           : 10\n"
        "StandardDeviation :\n"
        "Property          : Items\n"
        "\n"
    )
    assert run(MeasureObject, ctx, [1, 2, 3])[0].get("Count") == 3


def test_measure_errors() -> None:
    ctx = FakeContext()
    assert run(MeasureObject, ctx, USERS, Property=["Nope"]) == []
    assert "cannot be found in the input for any objects" in str(ctx.errors[0])
    with pytest.raises(CmdletError, match=r'Input object "c@x\.com" is not numeric'):
        run(MeasureObject, ctx, USERS, Property=["Identity"], Sum=True)
