"""The `npuport` command (typer): one module per command group, each command parses its options, makes one library
call and hands the result to `render`; option aliases live in `options`, the progress bar in `progress`, the
`error: …` lines and exit codes in `errors`. Library modules are imported inside the commands, so `npuport --help`
never loads torch, transformers or onnxruntime."""

from __future__ import annotations

import os

import typer

from npuport.cli import buckets, measure, model, parity, predict, score, ship, zoo
from npuport.core.offline import SETTINGS

# The command's own process: offline and quiet for every library it loads. (A program that imports npuport keeps its
# environment; npuport.core.offline sets these only around npuport's own loads.)
os.environ.update({name: value for name, value in SETTINGS.items() if name not in os.environ})

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Export text classifiers to TorchScript/ONNX, run them on NPU/CUDA/CPU, prove parity.")
zoo_app = typer.Typer(no_args_is_help=True, help="Offline stand-in models for the demo and tests.")


def _print_version(wanted: bool) -> None:
    if wanted:
        from npuport import __version__

        typer.echo(f"npuport {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                      help="Print npuport's version and exit.")) -> None:
    """Export text classifiers to TorchScript/ONNX, run them on NPU/CUDA/CPU, prove parity."""

for command in (model.inspect, model.convert, model.manifest, predict.predict, parity.validate, parity.doctor, parity.tune,
                ship.package, parity.verify):
    app.command()(command)
app.command("import")(model.import_onnx)
app.command("eval")(measure.eval_command)
app.command()(score.score)
for command in (measure.report, predict.serve, measure.bench):
    app.command()(command)
zoo_app.command("build")(zoo.build)
zoo_app.command("list")(zoo.models)
app.add_typer(zoo_app, name="zoo")
buckets_app = typer.Typer(no_args_is_help=True, help="Shape buckets (gears) planned from your own texts.")
buckets_app.command("plan")(buckets.plan)
app.add_typer(buckets_app, name="buckets")

__all__ = ["app"]
