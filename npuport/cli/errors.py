"""The one place a failure becomes `error: …` on stderr and its exit code: a command line that does not parse, a value
an option refuses, and everything a command raises."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import typer

from npuport.cli.render import err
from npuport.core.errors import NpuportError, UsageError
from npuport.core.extras import needs_extra

INTERRUPTED = 130  # the shell's code for SIGINT (128 + 2)


def exit_codes() -> list[tuple[int, str]]:
    """Every exit code and what it means, from the error classes that define one (all distinct: a test checks)."""
    classes, found = [NpuportError], []
    while classes:
        cls = classes.pop(0)
        classes.extend(cls.__subclasses__())
        if "exit_code" in vars(cls) and cls is not NpuportError:
            found.append((cls.exit_code, re.sub(r"(?<!^)(?=[A-Z])", " ", cls.__name__.removesuffix("Error")).lower()))
    return sorted([(0, "success"), (1, "other failure"), *found, (INTERRUPTED, "interrupted")])


def run(main: Callable[[], Any]) -> int:
    """Run `main` (click's main, not standalone) and return the exit code; every failure is one `error: …` line."""
    try:
        with needs_extra("this command"):  # the base install has no torch, transformers…: name the extra
            code = main()
    except typer.TyperException as exc:
        return _parse_failure(exc)
    except NpuportError as exc:
        return _fail(str(exc), exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        return _fail("interrupted", INTERRUPTED)
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), 1)
    except Exception as exc:
        if os.environ.get("NPUPORT_DEBUG"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        return _fail(f"unexpected {type(exc).__name__}: {first} (NPUPORT_DEBUG=1 shows a traceback)", 1)
    if code == INTERRUPTED:  # typer turns Ctrl-C inside a command into exit 130 before it reaches us
        return _fail("interrupted", INTERRUPTED)
    return code if isinstance(code, int) else 0


def _parse_failure(exc: typer.TyperException) -> int:
    """typer's own errors: its usage errors (exit code 2, click's convention, which is ModelLoadError's here) become
    UsageError's code; `npuport` or `npuport zoo` alone shows the help (typer prints it while raising)."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # typer names it so too, to avoid importing its vendored click
        return UsageError.exit_code
    context = getattr(exc, "ctx", None)
    where = f" (see `{context.command_path} --help`)" if context is not None else ""
    return _fail(f"{exc.format_message()}{where}", UsageError.exit_code if exc.exit_code == 2 else 1)


def _fail(message: str, code: int) -> int:
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    return code
