"""Pipelines and commands (a mixin of ``evaluator.Runtime``).

Every command of a pipeline is resolved and bound before any runs (a binding error stops
the whole pipeline, as in PowerShell).  Each cmdlet then becomes a generator: ``begin``,
``process`` per input object (binding ByValue/ByPropertyName each time), ``end``.  The last
generator is pulled by the consumer, so objects stream one at a time.  A cmdlet raising
``StopUpstream`` closes the commands before it and goes on to its ``end``.

Command lookup: user functions, then cmdlets by name or alias, then ``Get-<name>`` for a
bare word (as PowerShell does), then a script file (``./x.imsh``).  Redirections: ``>``/``>>``
write the rendered output to a file (Out-File), ``2>&1`` merges errors into the output,
``2>$null`` hides them, ``2> file`` writes them to a file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from cmdlets.base import Cmdlet, CmdletError, Parameter
from shell.lang import ast, functions
from shell.lang.binder import ArgItem, Binding, BindingError, bind, bind_pipeline
from shell.lang.context import CommandContext
from shell.lang.errors import ErrorRecord, PSRuntimeError, StopUpstream
from shell.lang.errorview import format_record
from shell.lang.flow import ExitSignal
from shell.lang.values import ScriptBlock
from shell.objects import enumerate_value, to_text

if TYPE_CHECKING:
    from shell.lang.evaluator import Host
    from shell.lang.scope import Variables

Emit = Callable[[Any], None]


class Pipelines:
    if TYPE_CHECKING:  # provided by evaluator.Runtime
        host: Host
        variables: Variables
        functions: dict[str, Any]
        error_sinks: list[Callable[[ErrorRecord], None]]

        def eval(self, node: ast.Expr) -> Any: ...

        def invoke_block(self, block: ScriptBlock, input_object: Any, args: list[Any], *,
                         new_scope: bool, named: dict[str, Any] | None = None,
                         input_items: list[Any] | None = None) -> list[Any]: ...

    def run_pipeline(self, node: ast.Pipeline, emit: Emit) -> None:
        if node.redirections:
            self._redirected(node, emit)
            return
        self._stream(node, emit)

    def _stream(self, node: ast.Pipeline, emit: Emit) -> None:
        first = node.elements[0]
        upstream: Iterator[Any] | None = None
        commands = node.elements
        if isinstance(first, ast.Expr):
            value = self.eval(first)
            if len(node.elements) == 1:
                if not (isinstance(first, ast.Unary) and first.op in ("++", "--", "p++", "p--")):
                    for item in enumerate_value(value):
                        emit(item)
                return
            upstream = enumerate_value(value)
            commands = node.elements[1:]
        stream = upstream
        for command in commands:
            assert isinstance(command, ast.Command)
            stream = self.command_stage(command, stream)
        assert stream is not None
        for item in stream:
            emit(item)

    # -- redirection -------------------------------------------------------------------------

    def _redirected(self, node: ast.Pipeline, emit: Emit) -> None:
        output_file: tuple[ast.Redirection, str | None] | None = None
        sinks = 0
        for redirection in node.redirections:
            path = None
            if redirection.target is not None:
                target = self.eval(redirection.target)
                path = None if target is None else to_text(target)
            if redirection.stream in ("1",):
                output_file = (redirection, path)
            elif redirection.stream in ("2", "*"):
                self.error_sinks.append(self._error_sink(redirection, path, emit))
                sinks += 1
                if redirection.stream == "*" and not redirection.merge:
                    output_file = (redirection, path)
        collected: list[Any] = []
        try:
            self._stream(node, collected.append if output_file else emit)
        finally:
            del self.error_sinks[len(self.error_sinks) - sinks:]
            if output_file is not None:
                self._write_redirect(output_file[0], output_file[1], collected)

    def _error_sink(self, redirection: ast.Redirection, path: str | None, emit: Emit
                    ) -> Callable[[ErrorRecord], None]:
        if redirection.merge:
            return emit
        if path is None:
            return lambda record: None

        def to_file(record: ErrorRecord) -> None:
            with self.host.resolve_path(path).open("a", encoding="utf-8") as handle:
                handle.write(format_record(record) + "\n")

        if not redirection.append:
            self.host.resolve_path(path).write_text("", encoding="utf-8")
        return to_file

    def _write_redirect(self, redirection: ast.Redirection, path: str | None,
                        objects: list[Any]) -> None:
        if path is None:
            return
        text = self.host.render(objects) if objects else ""
        mode = "a" if redirection.append else "w"
        try:
            with self.host.resolve_path(path).open(mode, encoding="utf-8") as handle:
                handle.write(text)
        except OSError as err:
            raise PSRuntimeError(ErrorRecord(
                f"Could not open file '{path}': {err.strerror}.", category="OpenError",
                error_id="FileOpenFailure", extent=redirection.extent,
                reason="IOException")) from None

    # -- command resolution ------------------------------------------------------------------

    def command_stage(self, node: ast.Command, upstream: Iterator[Any] | None
                      ) -> Iterator[Any]:
        target = self.resolve_command(node)
        items = self.command_arguments(node)
        if isinstance(target, type):
            return self.cmdlet_stage(target, node, items, upstream)
        name = to_text(self.eval(node.name)) if not node.call_operator else ""
        return self.block_stage(target, items, upstream, node, name)

    def resolve_command(self, node: ast.Command) -> type[Cmdlet] | ScriptBlock:
        if node.call_operator:
            value = self.eval(node.name)
            if isinstance(value, ScriptBlock):
                return value
            name = to_text(value)
        else:
            name = to_text(self.eval(node.name))
        function = self.functions.get(name.casefold())
        if function is not None:
            return function.block
        registry = self.host.registry
        found = registry.find(name) or (registry.find("Get-" + name) if "-" not in name
                                        else None)
        if found is not None:
            return found
        script = self._script_file(name)
        if script is not None:
            return script
        raise PSRuntimeError(ErrorRecord(
            f"The term '{name}' is not recognized as a name of a cmdlet, function, script file, "
            "or executable program.\nCheck the spelling of the name, or if a path was included, "
            "verify that the path is correct and try again.", category="ObjectNotFound",
            error_id="CommandNotFoundException", command=name, activity="",
            reason="CommandNotFoundException", target=name, extent=node.name.extent,
            qualified=False))

    def _script_file(self, name: str) -> ScriptBlock | None:
        if not name.lower().endswith((".imsh", ".ps1")):
            return None
        path = self.host.resolve_path(name)
        if not path.is_file():
            return None
        from shell.lang.parser import parse_source
        from shell.lang.tokens import Source

        text = path.read_text(encoding="utf-8-sig")
        body = parse_source(Source(text, str(path)))
        node = ast.ScriptBlockExpr(body=body, extent=body.extent)
        return ScriptBlock(node, text)

    def command_arguments(self, node: ast.Command) -> list[ArgItem]:
        items: list[ArgItem] = []
        for element in node.elements:
            if isinstance(element, ast.CommandParameter):
                value = self.eval(element.value) if element.value is not None else None
                items.append(ArgItem(element.name, value, element.colon, _literal(element.value),
                                     element.extent))
                continue
            value_node = element.value
            if isinstance(value_node, ast.Variable) and value_node.splat:
                items.extend(self._splat(value_node))
                continue
            items.append(ArgItem(None, self.eval(value_node), True, _literal(value_node),
                                 element.extent))
        return items

    def _splat(self, node: ast.Variable) -> list[ArgItem]:
        value = self.variables.get(node.name, node.scope)
        if isinstance(value, dict):
            return [ArgItem(to_text(key), item, True, None, node.extent)
                    for key, item in value.items()]
        return [ArgItem(None, item, True, None, node.extent) for item in enumerate_value(value)]

    # -- cmdlets -----------------------------------------------------------------------------

    def cmdlet_stage(self, cls: type[Cmdlet], node: ast.Command, items: list[ArgItem],
                     upstream: Iterator[Any] | None) -> Iterator[Any]:
        ctx = CommandContext(self, cls, node.extent)  # type: ignore[arg-type]
        try:
            binding = bind(cls, items, pipeline_input=upstream is not None,
                           prompt=self._prompt_for if self.host.interactive else None)
        except BindingError as err:
            record = ErrorRecord(err.message, category=err.category, error_id=err.error_id,
                                 command=cls.name, reason=err.reason,
                                 target=err.target, extent=err.extent or node.extent)
            raise PSRuntimeError(record) from None
        ctx.binding = binding
        return self._run_cmdlet(cls, ctx, binding, upstream)

    def _run_cmdlet(self, cls: type[Cmdlet], ctx: CommandContext, binding: Binding,
                    upstream: Iterator[Any] | None) -> Iterator[Any]:
        instance = cls()
        args = binding.arguments()
        outputs: list[Any] | None = [] if binding.common.out_variable else None
        try:
            yield from _emit(instance.begin(ctx, args), outputs)
            if upstream is None:
                yield from _emit(instance.process(ctx, args), outputs)
            else:
                yield from self._process_input(instance, ctx, binding, upstream, outputs)
            yield from _emit(instance.end(ctx, args), outputs)
        except StopUpstream:
            pass
        except (PSRuntimeError, GeneratorExit, ExitSignal):
            raise
        except Exception as exc:
            raise ctx.terminating(exc) from None
        finally:
            if outputs is not None and binding.common.out_variable:
                self.variables.set(binding.common.out_variable, outputs)

    def _process_input(self, instance: Cmdlet, ctx: CommandContext, binding: Binding,
                       upstream: Iterator[Any], outputs: list[Any] | None) -> Iterator[Any]:
        try:
            for obj in upstream:
                try:
                    bound = bind_pipeline(binding, obj)
                except BindingError as err:
                    ctx.write_error(CmdletError(err.message, err.category, err.error_id, obj))
                    continue
                yield from _emit(instance.process(ctx, bound), outputs)
        except StopUpstream:
            close = getattr(upstream, "close", None)
            if close is not None:
                close()

    def _prompt_for(self, cls: type[Cmdlet], missing: list[Parameter]
                    ) -> dict[str, Any] | None:
        self.host.flush_output()
        self.host.write_out(f"\ncmdlet {cls.name} at command pipeline position 1\n"
                            "Supply values for the following parameters:\n")
        answers: dict[str, Any] = {}
        for param in missing:
            answer = self.host.read_line(f"{param.name}: ")
            if answer is None:  # end of input: nothing was supplied
                return None
            # an empty answer is bound, so the binder refuses it as PowerShell does
            # ("... because it is an empty string."), unless the parameter allows it
            answers[param.name] = answer
        return answers

    # -- script blocks -----------------------------------------------------------------------

    def block_stage(self, block: ScriptBlock, items: list[ArgItem],
                    upstream: Iterator[Any] | None, node: ast.Command | None = None,
                    name: str = "") -> Iterator[Any]:
        """A function, filter, ``& { }`` or script file: bound as a cmdlet (functions.py)."""
        extent = node.extent if node is not None else block.node.extent
        try:
            cls = functions.declaration(block.node, name or "<ScriptBlock>", self._attribute_value)
            binding, rest = functions.bind_function(
                cls, items, pipeline_input=upstream is not None,
                prompt=self._prompt_for if self.host.interactive else None)
        except BindingError as err:
            record = ErrorRecord(err.message, category=err.category, error_id=err.error_id,
                                 command=name, reason=err.reason,
                                 target=err.target, extent=err.extent or extent)
            raise PSRuntimeError(record) from None
        ctx = CommandContext(self, cls, extent)  # type: ignore[arg-type]
        ctx.binding = binding
        return functions.function_stage(self, block, ctx, upstream,  # type: ignore[arg-type]
                                        binding, rest)

    def _attribute_value(self, node: ast.Expr) -> Any:
        return self.eval(node)


def _emit(values: Iterable[Any] | None, outputs: list[Any] | None) -> Iterator[Any]:
    for value in values or ():
        if outputs is not None:
            outputs.append(value)
        yield value


def _literal(node: ast.Expr | None) -> str | None:
    """A bareword's source text (so ``-Name 007`` binds the string "007")."""
    if isinstance(node, ast.Constant) and node.bareword and not isinstance(node.value, str):
        return node.extent.text
    return None

