"""`make test-runtime`: the base install (`pip install npuport`, plus the `serve` extra) runs a package without torch.

Run by the main .venv's python with the runtime venv's bin directory (a venv holding only the base dependencies and
`serve`, made by the Makefile): installs a wheel of this checkout there (its dependencies are already in place), builds
a tiny package here (tiny StructBERT, kept in the runtime venv between runs; ONNX and TorchScript fp32 dynamic,
validated and packaged, as `package` ships by default), then, in the runtime venv and outside this checkout, checks
that torch, transformers, onnx and safetensors are not importable; that `npuport predict` and `npuport serve` (one
real POST /predict, one gRPC ModelInfer) work on the package; that the package README's `npuport verify .` replays
the ONNX variant and names the TorchScript one as not replayed (exit 9), and its `--variants` line passes; and that
TorchScript and convert fail with the one line naming `pip install 'npuport[convert]'`. Prints each step's wall time.
"""
from __future__ import annotations

import json
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from npuport import zoo
from npuport.convert.pipeline import convert_model
from npuport.convert.plan import ConvertOptions
from npuport.package.bundle import build_package
from npuport.validate.gate import validate_artifacts

CHECKOUT = Path(__file__).resolve().parent.parent
CONVERT_EXTRA = ("torch", "transformers", "onnx", "safetensors")
INSTALL_LINE = "pip install 'npuport[convert]'"
TEXT = "今天天气真好，心情非常愉快！"
steps: list[tuple[str, float]] = []


@contextmanager
def step(name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    steps.append((name, time.perf_counter() - started))


def run(*args: str | Path, cwd: Path, expect: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=120)
    if done.returncode != expect:
        sys.exit(f"test-runtime: {' '.join(map(str, args))} exited {done.returncode}, not {expect}:\n{done.stdout}{done.stderr}")
    return done


def install_wheel(runtime: Path, work: Path) -> None:
    """A wheel of this checkout, built from a copy (a stale build/ in the checkout must not leak into it)."""
    source = work / "source"
    shutil.copytree(CHECKOUT / "npuport", source / "npuport", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(CHECKOUT / name, source / name)
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", work / "wheel", source, cwd=work)
    wheel = next((work / "wheel").glob("npuport-*.whl"))
    run(runtime / "python", "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", wheel, cwd=work)


def build(work: Path, cache: Path) -> tuple[Path, Path, Path]:
    """(model directory, artifacts with ONNX and TorchScript fp32, a package of both: what `package` ships by default)."""
    spec = zoo.tiny_spec("structbert", "zh")
    model = cache / f"tiny-structbert-{spec.fingerprint()}"  # written whole or not at all (a staged directory)
    if not model.is_dir():
        zoo.build_model_dir(spec, model)
    options = ConvertOptions(formats=("onnx", "torchscript"), precisions=("fp32",), shapes=("dynamic",))
    artifacts = convert_model(model, work / "artifacts", options, isolate=False).root
    assert validate_artifacts(artifacts).passed
    return model, artifacts, build_package(artifacts, work / "package", archive=False).directory


def check_runtime(runtime: Path, model: Path, artifacts: Path, package: Path, work: Path) -> None:
    npuport = runtime / "npuport"
    with step("runtime venv: convert extra absent"):
        code = f"import importlib.util as u; print([m for m in {CONVERT_EXTRA!r} if u.find_spec(m)])"
        assert run(runtime / "python", "-c", code, cwd=work).stdout.strip() == "[]", "the runtime venv holds the convert extra"
        where = run(runtime / "python", "-c", "import npuport; print(npuport.__file__)", cwd=work).stdout
        assert not where.startswith(str(CHECKOUT / "npuport")), f"npuport imported from the checkout: {where}"
    with step("npuport predict PKG --text …"):
        lines = run(npuport, "predict", package, "--text", TEXT, "--json", cwd=work).stdout.splitlines()
        assert len(lines) == 1 and json.loads(lines[0])["scores"], lines
    with step("npuport verify . and its --variants line (package README)"):
        whole = run(npuport, "verify", ".", cwd=package, expect=9)
        assert "onnx-fp32-dynamic │ PASS" in whole.stdout, whole.stdout
        assert f"NOT REPLAYED torchscript-fp32-dynamic: torchscript:fp32-dynamic.pt@cpu needs torch, not installed here: {INSTALL_LINE}" \
            in whole.stdout, whole.stdout
        narrowed = re.search(r"`(npuport verify \. [^`]*--variants [^`]*)`", (package / "README.md").read_text())
        assert narrowed, "the package README gives no --variants line for the base install"
        command = shlex.split(narrowed[1])
        assert "NOT REPLAYED" not in run(runtime / command[0], *command[1:], cwd=package).stdout
    with step("npuport serve PKG + POST /predict + gRPC ModelInfer"):
        serve_once(npuport, runtime, package, work)
    with step("TorchScript and convert: one line each"):
        for args in (["predict", artifacts, "--text", TEXT, "--variant", "torchscript-fp32-dynamic"],
                     ["convert", model, "-o", work / "refused"]):
            error = run(npuport, *args, cwd=work, expect=6).stderr.strip()
            assert error.startswith("error: ") and error.endswith(INSTALL_LINE) and "\n" not in error, error


def serve_once(npuport: Path, runtime: Path, package: Path, work: Path) -> None:
    """`npuport serve --grpc-port 0` on free ports until /health is 200; one POST /predict and one gRPC ModelInfer
    (the runtime venv's grpcio, npuport's messages); SIGTERM; a clean exit."""
    server = subprocess.Popen([str(npuport), "serve", str(package), "--port", "0", "--grpc-port", "0", "--threads", "1"],
                              cwd=work, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        listening = {}
        for line in server.stderr:
            if line.startswith("listening on "):
                scheme, _, address = line.split()[2].partition("://")
                listening[scheme] = address
            if len(listening) == 2:
                break
        assert len(listening) == 2, f"the server exited before listening: {listening}"
        url = f"http://{listening['http']}"
        deadline = time.monotonic() + 60
        while not health(url):
            assert time.monotonic() < deadline and server.poll() is None, "/health never said ready"
            time.sleep(0.05)
        request = urllib.request.Request(f"{url}/predict", data=json.dumps({"texts": [TEXT]}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
        assert response.status == 200 and len(answer["predictions"]) == 1, answer
        scores = run(runtime / "python", "-c", GRPC_CALL, listening["grpc"], package.name, TEXT, cwd=work).stdout
        assert json.loads(scores) == list(answer["predictions"][0]["scores"].values()), (scores, answer)
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0, "serve did not exit cleanly on SIGTERM"
    finally:
        server.kill()
        server.wait()


GRPC_CALL = """
import json, struct, sys
import grpc, numpy as np
from npuport.serve import v2_proto as pb
address, model, text = sys.argv[1:]
raw = text.encode()
request = pb.ModelInferRequest(model_name=model, inputs=[{"name": "TEXT", "datatype": "BYTES", "shape": [1]}],
                               raw_input_contents=[struct.pack("<I", len(raw)) + raw])
with grpc.insecure_channel(address) as channel:
    infer = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer", request_serializer=pb.ModelInferRequest.SerializeToString,
                                response_deserializer=pb.ModelInferResponse.FromString)
    answer = infer(request, timeout=30)
print(json.dumps(np.frombuffer(answer.raw_output_contents[0], "<f4").tolist()))
"""


def health(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
            return response.status == 200
    except OSError:  # refused while starting, 503 while warming up
        return False


def main() -> None:
    runtime = Path(sys.argv[1]).absolute()
    with tempfile.TemporaryDirectory(prefix="npuport-runtime-") as tmp:
        work = Path(tmp)
        with step("wheel of this checkout → runtime venv"):
            install_wheel(runtime, work)
        with step("tiny package (main venv)"):
            model, artifacts, package = build(work, runtime.parent)
        check_runtime(runtime, model, artifacts, package, work)
    width = max(len(name) for name, _ in steps)
    for name, seconds in steps:
        print(f"  {name:<{width}}  {seconds:6.1f} s")
    print(f"base install without torch: predict, verify, serve OK ({sum(s for _, s in steps):.1f} s)")


if __name__ == "__main__":
    main()
