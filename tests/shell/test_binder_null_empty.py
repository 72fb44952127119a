"""The binder's null/empty rule with literal inputs: ``$null``, ``''`` and ``@()`` are refused
for every parameter unless its declaration allows them (cmdlets/base.py ``allow_null`` /
``allow_empty``); switches take ``$null`` as ``$false``."""

from __future__ import annotations

from typing import ClassVar

import pytest

from cmdlets.base import Cmdlet, Parameter, ParamType, PSObject
from shell.lang.binder import ArgItem, BindingError, bind, bind_pipeline

T = ParamType


class SetThing(Cmdlet):
    name = "Set-Thing"
    parameters: ClassVar = (
        Parameter("Identity", position=0, from_pipeline=True, from_pipeline_by_name=True),
        Parameter("Tags", T.STRING_ARRAY),
        Parameter("Count", T.INT),
        Parameter("Data", T.BYTES),
        Parameter("Force", T.SWITCH),
        Parameter("Emails", T.STRING_ARRAY, allow_null=True, allow_empty=True),
        Parameter("Note", T.STRING, allow_empty=True),
        Parameter("Interval", T.OBJECT, allow_null=True),
    )


def named(name: str, value: object) -> ArgItem:
    return ArgItem(name, value, True)


def refusal(items: list[ArgItem]) -> BindingError:
    with pytest.raises(BindingError) as caught:
        bind(SetThing, items)
    return caught.value


@pytest.mark.parametrize("name", ["Identity", "Tags", "Count", "Data"])
def test_null_is_refused_for_an_optional_parameter(name: str) -> None:
    err = refusal([named(name, None)])
    assert err.message == f"Cannot bind argument to parameter '{name}' because it is null."
    assert err.error_id == "ParameterArgumentValidationErrorNullNotAllowed"
    assert err.category == "InvalidData"
    assert err.reason == "ParameterBindingValidationException"


def test_positional_null_is_refused() -> None:
    err = refusal([ArgItem(None, None, True)])
    assert "parameter 'Identity' because it is null" in err.message


@pytest.mark.parametrize(("name", "value", "what"), [
    ("Identity", "", "an empty string"),
    ("Tags", [], "an empty array"),
    ("Tags", ["a", ""], "an empty string"),
    ("Data", b"", "an empty array"),
])
def test_empty_is_refused(name: str, value: object, what: str) -> None:
    err = refusal([named(name, value)])
    assert err.message == f"Cannot bind argument to parameter '{name}' because it is {what}."
    assert err.error_id.startswith("ParameterArgumentValidationErrorEmpty")


def test_whitespace_is_a_value_not_an_empty_string() -> None:
    assert bind(SetThing, [named("Identity", " ")]).values["Identity"] == " "


def test_declared_exceptions_let_null_and_empty_through() -> None:
    values = bind(SetThing, [named("Emails", None), named("Note", ""),
                             named("Interval", None)]).values
    assert values["Interval"] is None and values["Note"] == ""
    assert bind(SetThing, [named("Emails", [])]).values["Emails"] == []


def test_switch_given_null_is_false() -> None:
    assert bind(SetThing, [named("Force", None)]).values["Force"] is False


def test_null_pipeline_object_is_refused() -> None:
    binding = bind(SetThing, [], pipeline_input=True)
    with pytest.raises(BindingError) as caught:
        bind_pipeline(binding, None)
    assert "parameter 'Identity' because it is null" in caught.value.message


def test_record_with_an_empty_identity_binds_nothing() -> None:
    binding = bind(SetThing, [], pipeline_input=True)
    with pytest.raises(BindingError) as caught:
        bind_pipeline(binding, PSObject({"Identity": ""}))
    assert caught.value.error_id == "InputObjectNotBound"
