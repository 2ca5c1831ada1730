"""The one place an expected failure becomes `error: …` on stderr and its exit code."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from npuport.cli.render import err
from npuport.core.errors import NpuportError
from npuport.core.extras import needs_extra

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(command: F) -> F:
    """Every expected failure becomes one `error: …` line and its exit code; no tracebacks."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with needs_extra("this command"):  # the base install has no torch, transformers…: name the extra
                return command(*args, **kwargs)
        except NpuportError as exc:
            err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("error: interrupted", markup=False)
            raise typer.Exit(130) from None
        except OSError as exc:
            err.print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), markup=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except Exception as exc:
            if os.environ.get("NPUPORT_DEBUG"):
                raise
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            err.print(f"error: unexpected {type(exc).__name__}: {first} (NPUPORT_DEBUG=1 shows a traceback)", markup=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]
