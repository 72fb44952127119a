"""Property selection shared by Select-Object, Sort-Object, Group-Object and Format-*.

A ``-Property`` argument is a list of items, each one of:

* a property name, possibly with wildcards (``Max*``, ``*last*sync*``), resolved against each
  object's own property names; a plain name that is absent still yields a ``$null`` column,
  as in PowerShell, while a wildcard that matches nothing yields nothing;
* a calculated property, a hashtable ``@{Name='X'; Expression={...}}`` (``n``/``l``/``Label``/
  ``e`` and other unambiguous prefixes accepted; Expression may be a script block or a
  property name); Format-Table also takes ``Width``/``Alignment``/``FormatString``, Sort-Object
  ``Ascending``/``Descending``;
* a script block (Sort-Object, Group-Object): its text is the column name.

Script blocks run through ``ctx.invoke``; their output list becomes one value
(nothing → ``$null``, one item → the item, more → a list).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cmdlets.base import CmdletError, Context, PSObject
from shell.objects import get_property, property_names
from shell.wildcard import has_wildcards, wildcard_match

NAME_KEYS = ("Name", "Label")
SELECT_KEYS = (*NAME_KEYS, "Expression")
FORMAT_KEYS = (*SELECT_KEYS, "Width", "Alignment", "FormatString")
SORT_KEYS = ("Expression", "Ascending", "Descending")


@dataclass(frozen=True)
class PropertySpec:
    """One output column: a plain property or a calculated one."""

    name: str
    expression: Any = None  # a script block or a property name; None → ``name`` itself
    wildcard: bool = False
    options: tuple[tuple[str, Any], ...] = ()

    def option(self, key: str, default: Any = None) -> Any:
        return dict(self.options).get(key, default)


def is_script_block(value: Any) -> bool:
    """Script blocks reach cmdlets as opaque values carrying ``.text`` (or, in tests, callables)."""
    if isinstance(value, str | bytes | Mapping | PSObject) or value is None:
        return False
    return hasattr(value, "text") or callable(value)


def block_text(block: Any) -> str:
    """The source of a script block without its braces: ``$_.Size``."""
    text = str(getattr(block, "text", "") or "").strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    return text.strip()


def parse_specs(
    items: Iterable[Any], allowed_keys: Sequence[str] = SELECT_KEYS
) -> list[PropertySpec]:
    """Turn ``-Property`` arguments into specs (validating calculated-property keys)."""
    specs: list[PropertySpec] = []
    for item in items:
        if isinstance(item, Mapping):
            specs.append(_calculated(item, allowed_keys))
        elif is_script_block(item):
            specs.append(PropertySpec(block_text(item), item))
        else:
            name = str(item)
            specs.append(PropertySpec(name, wildcard=has_wildcards(name)))
    return specs


def _calculated(table: Mapping[Any, Any], allowed_keys: Sequence[str]) -> PropertySpec:
    found: dict[str, Any] = {}
    for key, value in table.items():
        canonical = _canonical_key(str(key), allowed_keys)
        if canonical in NAME_KEYS:
            canonical = "Name"
        if canonical in found:
            raise CmdletError(f'The "{key}" key is specified more than once.',
                              "InvalidArgument", "DictionaryKeySpecifiedMoreThanOnce")
        found[canonical] = value
    if "Expression" not in found:
        raise CmdletError('A calculated property needs an "Expression" key.',
                          "InvalidArgument", "DictionaryKeyMissing")
    expression = found.pop("Expression")
    name = found.pop("Name", None)
    if name is None:
        name = block_text(expression) if is_script_block(expression) else str(expression)
    return PropertySpec(str(name), expression, options=tuple(found.items()))


def _canonical_key(key: str, allowed_keys: Sequence[str]) -> str:
    folded = key.casefold()
    matches = [name for name in allowed_keys if name.casefold().startswith(folded)]
    exact = [name for name in matches if name.casefold() == folded]
    if exact:
        return exact[0]
    if len(matches) == 1 and folded:
        return matches[0]
    raise CmdletError(f'The "{key}" key is not valid.', "InvalidArgument", "IllegalKey")


def resolve(
    obj: Any, specs: Sequence[PropertySpec], exclude: Sequence[str] = ()
) -> list[PropertySpec]:
    """Expand wildcard specs against ``obj``'s properties; drop duplicates and exclusions."""
    names = property_names(obj)
    resolved: list[PropertySpec] = []
    seen: set[str] = set()
    for spec in specs:
        expanded = (
            [PropertySpec(name) for name in names if wildcard_match(spec.name, name)]
            if spec.wildcard else [spec]
        )
        for item in expanded:
            key = item.name.casefold()
            if key in seen or any(wildcard_match(pattern, item.name) for pattern in exclude):
                continue
            seen.add(key)
            resolved.append(item)
    return resolved


def evaluate(ctx: Context, obj: Any, spec: PropertySpec) -> Any:
    """The value of one column for ``obj``."""
    expression: Any = spec.name if spec.expression is None else spec.expression
    if is_script_block(expression):
        return single_value(ctx.invoke(expression, obj))
    return get_property(obj, str(expression))


def single_value(outputs: Sequence[Any]) -> Any:
    """A script block's output as one value, as PowerShell assigns it."""
    if not outputs:
        return None
    return outputs[0] if len(outputs) == 1 else list(outputs)


def select_record(
    ctx: Context, obj: Any, specs: Sequence[PropertySpec], type_name: str
) -> PSObject:
    """A new record holding the chosen columns of ``obj`` (Select-Object's output)."""
    values = {spec.name: evaluate(ctx, obj, spec) for spec in specs}
    return PSObject(values, (type_name, "System.Management.Automation.PSCustomObject",
                             "System.Object"))
