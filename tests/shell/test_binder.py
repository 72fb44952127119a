"""Parameter binding from declarations: names, prefixes, positions, sets, pipeline, common."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import pytest

from cmdlets.base import Cmdlet, Parameter, ParamType, PSObject
from shell.lang.binder import ArgItem, BindingError, bind, bind_pipeline

T = ParamType


class GetThing(Cmdlet):
    name = "Get-Thing"
    parameters: ClassVar = (
        Parameter("Identity", position=0, from_pipeline=True, from_pipeline_by_name=True),
        Parameter("Filter"),
        Parameter("Force", T.SWITCH),
        Parameter("Status", choices=("Syncing", "Synced", "Failed")),
        Parameter("Limit", T.UNLIMITED_INT),
        Parameter("Tags", T.STRING_ARRAY, aliases=("Labels",)),
        Parameter("After", T.DATETIME),
        Parameter("Data", T.BYTES),
        Parameter("Every", T.TIMESPAN),
    )


class NewEndpoint(Cmdlet):
    name = "New-Endpoint"
    default_parameter_set = "IMAP"
    parameters: ClassVar = (
        Parameter("IMAP", T.SWITCH, mandatory=True, sets=("IMAP",)),
        Parameter("Maildir", T.SWITCH, mandatory=True, sets=("Maildir",)),
        Parameter("Name", mandatory=True, position=0),
        Parameter("RemoteServer", mandatory=True, sets=("IMAP",)),
        Parameter("Port", T.INT, sets=("IMAP",)),
        Parameter("Path", mandatory=True, sets=("Maildir",)),
        Parameter("ExchangeRemoteMove", T.SWITCH, unsupported=True),
    )


class RemoveThing(Cmdlet):
    name = "Remove-Thing"
    supports_should_process = True
    parameters: ClassVar = (Parameter("Identity", mandatory=True, position=0,
                                      from_pipeline=True),)


def named(name: str, value: object = None, *, literal: str | None = None) -> ArgItem:
    return ArgItem(name, value, value is not None, literal)


def flag(name: str) -> ArgItem:
    return ArgItem(name)


def pos(value: object, literal: str | None = None) -> ArgItem:
    return ArgItem(None, value, True, literal)


def error_of(cls: type[Cmdlet], items: list[ArgItem]) -> BindingError:
    with pytest.raises(BindingError) as info:
        bind(cls, items)
    return info.value


def test_names_are_case_insensitive_and_prefixes_bind() -> None:
    binding = bind(GetThing, [flag("identity"), pos("b1"), flag("stat"), pos("failed")])
    assert binding.values == {"Identity": "b1", "Status": "Failed"}



def test_remaining_arguments_gather_into_one_list() -> None:
    class WriteThing(Cmdlet):
        name = "Write-Thing"
        parameters: ClassVar = (Parameter("Object", T.OBJECT, position=0, remaining=True),
                                Parameter("Separator"))

    assert bind(WriteThing, [pos("a"), pos(2), flag("Sep"), pos("-"), pos("c")]).values == \
        {"Object": ["a", 2, "c"], "Separator": "-"}
    assert bind(WriteThing, [pos("a")]).values == {"Object": "a"}
    assert error_of(WriteThing, [named("Object", "a"), pos("b")]).error_id == \
        "PositionalParameterNotFound"

def test_exact_name_wins_over_longer_names() -> None:
    class Two(Cmdlet):
        name = "Get-Two"
        parameters: ClassVar = (Parameter("Name"), Parameter("NameFilter"))

    assert bind(Two, [flag("Name"), pos("x")]).values == {"Name": "x"}


def test_ambiguous_prefix_lists_candidates() -> None:
    err = error_of(GetThing, [flag("f"), pos("x")])
    assert err.message == ("Parameter cannot be processed because the parameter name 'f' is "
                           "ambiguous. Possible matches include: -Filter -Force.")
    assert err.error_id == "AmbiguousParameter"


def test_unknown_parameter() -> None:
    err = error_of(GetThing, [flag("Bogus")])
    assert err.message == "A parameter cannot be found that matches parameter name 'Bogus'."


def test_aliases_and_arrays() -> None:
    binding = bind(GetThing, [flag("Labels"), pos(["a", "b"])])
    assert binding.values == {"Tags": ["a", "b"]}


def test_switch_with_colon_value() -> None:
    assert bind(GetThing, [named("Force", False)]).values == {"Force": False}
    assert bind(GetThing, [flag("Force")]).values == {"Force": True}


def test_positional_overflow_message() -> None:
    err = error_of(GetThing, [pos("a"), pos("Receive")])
    assert err.message == "A positional parameter cannot be found that accepts argument 'Receive'."
    assert err.error_id == "PositionalParameterNotFound"


def test_bareword_number_keeps_its_text_for_strings() -> None:
    assert bind(GetThing, [pos(7, literal="007")]).values == {"Identity": "007"}


def test_conversions() -> None:
    binding = bind(GetThing, [named("Limit", "unlimited"), named("After", "2024-05-01"),
                              named("Data", [104, 105]), named("Every", "1.00:30:00")])
    assert binding.values == {"Limit": "Unlimited", "After": dt.datetime(2024, 5, 1),
                              "Data": b"hi", "Every": dt.timedelta(days=1, minutes=30)}
    assert bind(GetThing, [named("Limit", "50")]).values == {"Limit": 50}


def test_conversion_failure_message() -> None:
    err = error_of(NewEndpoint, [flag("IMAP"), named("Name", "e"), named("RemoteServer", "h"),
                                 named("Port", "abc")])
    assert err.message == ("Cannot bind parameter 'Port'. Cannot convert value \"abc\" to type "
                           "\"System.Int32\". Error: \"Input string was not in a correct format.\"")


def test_validate_set_message() -> None:
    err = error_of(GetThing, [named("Status", "Bogus")])
    assert err.message == ('Cannot validate argument on parameter \'Status\'. The argument "Bogus" '
                           'does not belong to the set "Syncing,Synced,Failed" specified by the '
                           "ValidateSet attribute. Supply an argument that is in the set and then "
                           "try the command again.")


def test_missing_argument_for_non_switch() -> None:
    err = error_of(GetThing, [flag("Filter")])
    assert err.message == ("Missing an argument for parameter 'Filter'. Specify a parameter of "
                           "type 'System.String' and try again.")


def test_parameter_given_twice() -> None:
    err = error_of(GetThing, [named("Filter", "a"), named("Filter", "b")])
    assert err.error_id == "ParameterAlreadyBound"


def test_parameter_sets_resolve_from_named_parameters() -> None:
    imap = bind(NewEndpoint, [flag("IMAP"), pos("ep1"), named("RemoteServer", "h"),
                              named("Port", "993")])
    assert (imap.parameter_set, imap.values) == ("IMAP", {"IMAP": True, "RemoteServer": "h",
                                                         "Port": 993, "Name": "ep1"})
    maildir = bind(NewEndpoint, [flag("Maildir"), named("Name", "m"), named("Path", "/x")])
    assert maildir.parameter_set == "Maildir"


def test_parameters_from_two_sets_cannot_resolve() -> None:
    err = error_of(NewEndpoint, [named("Port", 1), named("Path", "/x")])
    assert err.message == "Parameter set cannot be resolved using the specified named parameters."


def test_missing_mandatory_parameters_are_listed() -> None:
    err = error_of(NewEndpoint, [flag("IMAP"), named("Name", "x")])
    assert err.message == ("Cannot process command because of one or more missing mandatory "
                           "parameters: RemoteServer.")


def test_unsupported_parameter() -> None:
    err = error_of(NewEndpoint, [flag("ExchangeRemoteMove")])
    assert (err.message, err.category) == (
        "The parameter 'ExchangeRemoteMove' is not supported by imsh.", "NotImplemented")


def test_common_parameters() -> None:
    binding = bind(GetThing, [named("ea", "silentlycontinue"), flag("Verbose"),
                              named("ev", "errs"), named("OutVariable", "o")])
    common = binding.common
    assert (common.error_action, common.verbose, common.error_variable, common.out_variable) == (
        "SilentlyContinue", True, "errs", "o")
    assert binding.values == {}


def test_whatif_and_confirm_only_for_should_process_cmdlets() -> None:
    binding = bind(RemoveThing, [pos("x"), flag("wi"), named("Confirm", False)])
    assert (binding.common.whatif, binding.common.confirm) == (True, False)
    err = error_of(GetThing, [flag("WhatIf")])
    assert err.error_id == "NamedParameterNotFound"


def test_error_action_values_are_validated() -> None:
    err = error_of(GetThing, [named("ErrorAction", "Explode")])
    assert err.error_id == "ParameterArgumentValidationError"


def test_pipeline_binds_by_value_then_by_property_name() -> None:
    binding = bind(GetThing, [], pipeline_input=True)
    assert bind_pipeline(binding, "b1")["Identity"] == "b1"
    record = PSObject({"Identity": "user@x", "Status": "Synced"})
    assert bind_pipeline(binding, record)["Identity"] == "user@x"


def test_pipeline_mandatory_parameter_may_come_from_input() -> None:
    binding = bind(RemoveThing, [], pipeline_input=True)
    assert bind_pipeline(binding, "x")["Identity"] == "x"
    with pytest.raises(BindingError) as info:
        bind(RemoveThing, [])
    assert info.value.error_id == "MissingMandatoryParameter"


def test_input_that_cannot_bind() -> None:
    class NoInput(Cmdlet):
        name = "Get-None"
        parameters: ClassVar = (Parameter("Name"),)

    binding = bind(NoInput, [], pipeline_input=True)
    with pytest.raises(BindingError) as info:
        bind_pipeline(binding, 5)
    assert info.value.error_id == "InputObjectNotBound"


def test_interactive_prompt_supplies_missing_mandatory_values() -> None:
    asked: list[str] = []

    def prompt(cls: type[Cmdlet], missing: list[Parameter]) -> dict[str, object]:
        asked.extend(p.name for p in missing)
        return {"RemoteServer": "imap.example.org"}

    binding = bind(NewEndpoint, [flag("IMAP"), named("Name", "x")], prompt=prompt)
    assert asked == ["RemoteServer"]
    assert binding.values["RemoteServer"] == "imap.example.org"
