"""The `npuport` command (typer): one module per command group, each command parses its options, makes one library
call and hands the result to `render`; option aliases live in `options`, the progress bar in `progress`, the
`error: …` lines and exit codes in `errors`. Library modules are imported inside the commands, so `npuport --help`
never loads torch, transformers or onnxruntime."""

from __future__ import annotations

import typer

from npuport.cli import measure, model, parity, predict, ship, zoo

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Export text classifiers to TorchScript/ONNX, run them on NPU/CUDA/CPU, prove parity.")
zoo_app = typer.Typer(no_args_is_help=True, help="Offline stand-in models for the demo and tests.")

for command in (model.inspect, model.convert, model.manifest, predict.predict, parity.validate, parity.doctor, parity.tune,
                ship.package, parity.verify):
    app.command()(command)
app.command("eval")(measure.eval_command)
for command in (measure.report, predict.serve, measure.bench):
    app.command()(command)
zoo_app.command("build")(zoo.build)
zoo_app.command("list")(zoo.models)
app.add_typer(zoo_app, name="zoo")

__all__ = ["app"]
