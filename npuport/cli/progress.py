"""One progress bar on stderr for every command, fed by the core progress protocol (npuport.core.progress)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from npuport.cli.render import err

if TYPE_CHECKING:
    from npuport.core.progress import Event, Progress


class ProgressBar:
    """`with ProgressBar("building", quiet) as progress:` hands `progress` to a library call. A spinner runs until the
    events announce a total, then a bar counts the steps; each started step names itself beside the verb. Nothing is
    drawn when `quiet` (JSON output) or when stderr is not a terminal."""

    def __init__(self, verb: str, quiet: bool = False) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bar

        self.verb = verb
        self.bar = Bar(SpinnerColumn(), TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), console=err, disable=quiet or not err.is_terminal, transient=True)
        self.task = self.bar.add_task(verb, total=None)

    def __enter__(self) -> Progress:
        self.bar.start()
        return self.update

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def update(self, event: Event) -> None:
        kind = event.get("event")
        if kind == "total":
            self.bar.update(self.task, total=event["steps"])
        elif kind == "start":
            self.bar.update(self.task, description=f"{self.verb} {event['label']}")
        elif kind == "done":
            self.bar.advance(self.task, event.get("steps", 1))
