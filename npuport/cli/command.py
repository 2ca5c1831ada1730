"""The click classes npuport's commands are built from: one placeholder style in every help (upper-case words:
ARTIFACTS, PATH, DEVICE; none for flags), and the root group's main running everything through `errors.run`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from npuport.cli.errors import run

_TYPE_NAMES = {"int": "INTEGER", "float": "NUMBER", "Path": "PATH", "list[str]": "TEXT", "list[Path]": "PATH"}


class _Argument(TyperArgument):
    """An argument shown by its upper-case name alone: `ARTIFACTS`, not `{artifacts}` or `artifacts <path>`."""

    def display_type_rich(self, ctx: typer.Context) -> str | None:
        return None

    def get_usage_pieces(self, ctx: typer.Context) -> list[str]:
        return [f"{self.metavar}{'...' if self.nargs != 1 else ''}"]


def _placeholders(params: list[Any]) -> list[Any]:
    """Every value's placeholder in upper case: an option's given metavar or its type's name (PATH, INTEGER, TEXT),
    an argument's name; a flag takes no value and shows none."""
    for param in params:
        if isinstance(param, TyperArgument):
            param.metavar = (param.metavar or param.name or "").upper()
            param.__class__ = _Argument
        elif isinstance(param, TyperOption):
            param.metavar = "" if param.is_flag else (param.metavar or _TYPE_NAMES.get(param.bare_type(), "TEXT"))
    return params


class Command(TyperCommand):
    def get_params(self, ctx: typer.Context) -> list[Any]:  # with --help, which exists only once asked for
        return _placeholders(super().get_params(ctx))


class Group(TyperGroup):
    """The `npuport` group: its main returns every failure as one `error: …` line and a distinct exit code (a
    caller asking for standalone_mode=False gets click's exceptions, as from any click command)."""

    def get_params(self, ctx: typer.Context) -> list[Any]:  # with --help and the completion options typer adds
        return _placeholders(super().get_params(ctx))

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        sys.exit(run(lambda: super(Group, self).main(args, prog_name or self.name, complete_var, standalone_mode=False,
                                                     **extra)))
