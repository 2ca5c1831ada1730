"""The `npuport` command (typer): one module per command, named after it (`zoo` and `buckets`: one per group); each
command parses its options, makes one library call and hands the result to `render`; option aliases and the values
they parse live in `options`, the progress bar in `progress`, the `error: …` lines and exit codes in `errors`, the
help's placeholder style in `command`. Library modules are imported inside the commands, so `npuport --help` never
loads torch, transformers or onnxruntime."""

from __future__ import annotations

import os

import typer

from npuport.cli import (
    bench,
    buckets,
    convert,
    doctor,
    eval,
    import_onnx,
    inspect,
    manifest,
    package,
    predict,
    report,
    score,
    serve,
    tune,
    validate,
    verify,
    zoo,
)
from npuport.cli.command import Command, Group
from npuport.cli.errors import exit_codes
from npuport.core.offline import SETTINGS

# The command's own process: offline and quiet for every library it loads. (A program that imports npuport keeps its
# environment; npuport.core.offline sets these only around npuport's own loads.)
os.environ.update({name: value for name, value in SETTINGS.items() if name not in os.environ})

EXIT_CODES = "Exit codes: " + ", ".join(f"{code} {meaning}" for code, meaning in exit_codes()) + "."
app = typer.Typer(name="npuport", cls=Group, no_args_is_help=True, pretty_exceptions_enable=False, epilog=EXIT_CODES,
                  help="Export text classifiers to TorchScript/ONNX, run them on NPU/CUDA/CPU, prove parity.")


def _print_version(wanted: bool) -> None:
    if wanted:
        from npuport import __version__

        typer.echo(f"npuport {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                      help="Print npuport's version and exit.")) -> None:
    """Export text classifiers to TorchScript/ONNX, run them on NPU/CUDA/CPU, prove parity."""


COMMANDS = {"inspect": inspect.inspect, "convert": convert.convert, "manifest": manifest.manifest,
            "predict": predict.predict, "validate": validate.validate, "doctor": doctor.doctor, "tune": tune.tune,
            "package": package.package, "verify": verify.verify, "import": import_onnx.import_onnx,
            "eval": eval.eval_command, "score": score.score, "report": report.report, "serve": serve.serve,
            "bench": bench.bench}
GROUPS = {"zoo": ("Offline stand-in models for the demo and tests.", {"build": zoo.build, "list": zoo.models}),
          "buckets": ("Shape buckets planned from your own texts.", {"plan": buckets.plan})}
for name, command in COMMANDS.items():
    app.command(name, cls=Command)(command)
for group, (about, commands) in GROUPS.items():
    sub = typer.Typer(cls=Group, no_args_is_help=True, help=about)
    for name, command in commands.items():
        sub.command(name, cls=Command)(command)
    app.add_typer(sub, name=group)

__all__ = ["app"]
