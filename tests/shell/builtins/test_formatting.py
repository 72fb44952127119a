"""Format-Table, Format-List, Out-String, Out-File."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmdlets.base import CmdletError, PSObject
from engine.secrets import Secret
from shell.builtins.formatting import FormatList, FormatTable, OutFile, OutString
from shell.format import render
from shell.objects import Hashtable
from tests.shell.builtins.fakes import Block, FakeContext, run

ENDPOINT = PSObject({"Identity": "src", "RemoteServer": "imap.contoso.com", "Port": 993,
                     "Password": Secret("s3cret"), "MaxConcurrentMigrations": 20},
                    display=("Identity", "RemoteServer"))


def test_format_table_columns_wildcards_and_calculated() -> None:
    ctx = FakeContext()
    size = Hashtable({"Label": "Size", "Expression": Block(lambda o: o.get("Port") * 2),
                      "Width": 6, "Alignment": "Left"})
    out = run(FormatTable, ctx, [ENDPOINT], Property=["Identity", "Max*", size])
    assert render(out) == (
        "\n"
        "Identity MaxConcurrentMigrations Size\n"
        "-------- ----------------------- ----\n"
        "src                           20 1986\n"
        "\n"
    )


def test_format_table_defaults_to_display_properties_and_hides_headers() -> None:
    out = run(FormatTable, FakeContext(), [ENDPOINT], HideTableHeaders=True)
    assert render(out) == "\nsrc      imap.contoso.com\n\n"


def test_format_list_star_shows_everything_with_secrets_masked() -> None:
    out = run(FormatList, FakeContext(), [ENDPOINT], Property=["*"])
    text = render(out)
    assert text == (
        "\n"
        "Identity                : src\n"
        "RemoteServer            : imap.contoso.com\n"
        "Port                    : 993\n"
        "Password                : ********\n"
        "MaxConcurrentMigrations : 20\n"
        "\n"
    )
    assert "s3cret" not in text


def test_out_string_and_stream() -> None:
    ctx = FakeContext()
    assert run(OutString, ctx, ["a", "b"]) == ["a\nb\n"]
    assert run(OutString, ctx, [PSObject({"N": 1})], Stream=True) == ["", "N", "-", "1", ""]


def test_out_file_writes_rendered_text(tmp_path: Path) -> None:
    ctx = FakeContext(cwd=tmp_path)
    run(OutFile, ctx, [PSObject({"N": 1})], FilePath="o.txt")
    run(OutFile, ctx, ["more"], FilePath="o.txt", Append=True)
    assert (tmp_path / "o.txt").read_bytes() == b"\nN\n-\n1\n\nmore\n"
    with pytest.raises(CmdletError, match="already exists"):
        run(OutFile, ctx, ["x"], FilePath="o.txt", NoClobber=True)
