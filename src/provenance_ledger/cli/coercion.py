"""The command line's values, read without the framework's pydantic layer (README "Speed",
command start-up; bench/README "Command start-up").

typer 0.29 turns each value of a command line into its Python type through a pydantic
``TypeAdapter`` built for the parameter: importing pydantic, which every command then pays
(about a fifth of a command's start). The app's parameters are of a few kinds: text, a path,
a flag, a number read by a parser of the app's own (``cli/numbers.py``), and lists or pairs of
these. Each is read here to what typer's layer returns for it, with typer's own path checks
(``coerce_cli_path``: exists, readable, a file or a folder); any other kind, and any value
these do not take as they are, goes to typer's layer, which then says what it says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
from typer._param_types import coerce_cli_path
from typer.core import _TyperParameter
from typer.models import ParameterInfo

Read = Callable[[Any, Any, Any], Any]
"""How one value is read: ``read(value, param, ctx)``, or :data:`_OTHERWISE`."""

_OTHERWISE = object()
"""What a reader returns for a value it does not take as it is: typer's layer reads it."""


def _text(value: Any, _param: Any, _ctx: Any) -> Any:
    return value if isinstance(value, str) else _OTHERWISE


def _flag(value: Any, _param: Any, _ctx: Any) -> Any:
    return value if isinstance(value, bool) else _OTHERWISE


def _parsed(parse: Callable[[Any], Any]) -> Read:
    def read(value: Any, _param: Any, _ctx: Any) -> Any:
        try:
            return parse(value)
        except (ValueError, AssertionError):  # what pydantic would reword: its layer says it
            return _OTHERWISE

    return read


def _path(info: ParameterInfo, path_type: type[Any]) -> Read:
    def read(value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, str):
            value = path_type(value)
        if not isinstance(value, path_type):
            return _OTHERWISE
        return coerce_cli_path(value, info, path_type=path_type, param=param, ctx=ctx)

    return read


def _each(read: Read) -> Read:
    def each(value: Any, param: Any, ctx: Any) -> Any:
        items = [read(v, param, ctx) for v in
                 (value if isinstance(value, (list, tuple)) else [value])]
        return _OTHERWISE if any(i is _OTHERWISE for i in items) else items

    return each


def _pair(reads: list[Read]) -> Read:
    def pair(value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, (list, tuple)) or len(value) != len(reads):
            return _OTHERWISE
        items = tuple(read(v, param, ctx) for read, v in zip(reads, value, strict=True))
        return _OTHERWISE if any(i is _OTHERWISE for i in items) else items

    return pair


def reader(annotation: Any, info: ParameterInfo) -> Read | None:
    """The reader of a parameter of type ``annotation`` (optional already taken off by typer)
    with ``info``'s settings, or None for a kind this module does not read."""
    origin = get_origin(annotation)
    if origin is list or origin is tuple:
        inner = [reader(arg, info) for arg in get_args(annotation)]
        if not inner or any(r is None for r in inner) or (origin is list and len(inner) != 1):
            return None
        reads: list[Read] = [r for r in inner if r is not None]
        return _each(reads[0]) if origin is list else _pair(reads)
    if info.parser is not None:
        return _parsed(info.parser)
    if annotation is str:
        return _text
    if annotation is bool:
        return _flag
    if isinstance(annotation, type) and issubclass(annotation, Path) and info.path_type is None:
        return _path(info, annotation)
    return None


@dataclass(frozen=True)
class _Direct(RuntimeParam):
    """A parameter read by :func:`reader`; typer's own layer, built only when needed, reads
    what the reader does not take."""

    read: Read
    descriptor: TypeDescriptor

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        got = self.read(value, param, ctx)
        if got is _OTHERWISE:
            return build_runtime_param(self.descriptor)._coerce_value(value, param, ctx)
        return got


def _runtime_param(self: _TyperParameter) -> RuntimeParam:
    if self._runtime_param is None:
        desc = self.type_descriptor
        read = None if desc.file_annotation is not None else reader(
            desc.annotation, desc.parameter_info)
        self._runtime_param = build_runtime_param(desc) if read is None else _Direct(
            desc.parameter_info, desc.annotation, read, desc)
    return self._runtime_param


def install() -> None:
    """Read the app's values with :func:`reader` (once, when the CLI starts)."""
    _TyperParameter.get_runtime_param = _runtime_param  # type: ignore[method-assign]
