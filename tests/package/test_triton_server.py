"""A real Triton Inference Server (the `tritonserver` binary of the nvidia-pytriton wheel, Python backend) on the
repository `package --triton` writes, moved: only `triton/` is copied elsewhere and the package itself moved away
before the server starts. It loads the text model (npuport's runtime inside), and texts sent with tritonclient.http
come back with Classifier.predict's scores and labels, in the response `npuport serve` gives to the same request
under the same model name. Skipped, with the reason, where the binary or its Python backend cannot run here.

The backend runs model.py in its stub, which embeds the system's libpython and takes its interpreter (sys.prefix,
site-packages) from the first `python3` on PATH: a venv-like folder whose python3 is this interpreter and whose
site-packages adds pytriton's numpy 1.x (the stub reads tensors with numpy 1's ABI) before this venv's packages.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from serving import running  # type: ignore[import-not-found]
from tritonclient.utils import InferenceServerException

from npuport.core.corpus import load_corpus
from npuport.package.bundle import build_package
from npuport.package.triton import TRITON_DIR, model_name
from npuport.runtime import load
from npuport.serve.config import ServeConfig
from npuport.serve.server import served_name
from npuport.validate.gate import validate_artifacts

VARIANT = "onnx-fp32-dynamic"
STUB_NUMPY = Path(sys.prefix) / "triton-stub"  # numpy<2 for the stub, installed by `make install`
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
WAIT = 60.0


def _tritonserver() -> Path:
    """pytriton's tritonserver folder, or a skip naming what is missing."""
    spec = importlib.util.find_spec("pytriton")
    if spec is None or spec.origin is None:
        pytest.skip("nvidia-pytriton is not installed (`pip install --no-deps nvidia-pytriton`): no tritonserver binary")
    root = Path(spec.origin).parent / "tritonserver"
    stub = root / "python_backend_stubs" / PYTHON / "triton_python_backend_stub"
    for path in (root / "bin" / "tritonserver", root / "backends" / "python" / "libtriton_python.so", stub):
        if not path.is_file():
            pytest.skip(f"{path} is missing: tritonserver or its Python backend for Python {PYTHON} cannot run")
    libs = root.parents[1] / "nvidia_pytriton.libs"
    for binary in (root / "bin" / "tritonserver", stub) if shutil.which("ldd") else ():
        linked = subprocess.run(["ldd", str(binary)], capture_output=True, text=True,
                                env=os.environ | {"LD_LIBRARY_PATH": str(libs)}).stdout
        missing = [line.split()[0] for line in linked.splitlines() if "not found" in line]
        if missing:
            pytest.skip(f"{binary.name} cannot run here: {', '.join(missing)} not found")
    if not (STUB_NUMPY / "numpy").is_dir():
        pytest.skip(f"numpy<2 for the Python backend stub is missing: `pip install --no-deps --target {STUB_NUMPY} 'numpy<2'`")
    return root


def _stub_environment(folder: Path) -> Path:
    """A folder the stub takes as its Python: this interpreter, numpy 1.x first, then this venv's site-packages."""
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "python3").symlink_to(Path(sys._base_executable).resolve())
    (folder / "pyvenv.cfg").write_text(f"home = {Path(sys._base_executable).resolve().parent}\n"
                                       "include-system-site-packages = false\n")
    site = folder / "lib" / f"python{PYTHON}" / "site-packages"
    site.mkdir(parents=True)
    ours = next(p for p in sys.path if p.endswith("site-packages") and p.startswith(sys.prefix))
    (site / "npuport-triton.pth").write_text(f"{STUB_NUMPY}\nimport site; site.addsitedir({ours!r})\n")
    return folder


def _backends(root: Path, folder: Path) -> Path:
    """Triton's backend folder: the Python backend with the stub for this Python version beside it."""
    python = folder / "python"
    python.mkdir(parents=True)
    for path in (root / "backends" / "python").glob("*.*"):
        (python / path.name).symlink_to(path)
    (python / "triton_python_backend_stub").symlink_to(root / "python_backend_stubs" / PYTHON / "triton_python_backend_stub")
    return folder


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.fixture(scope="module")
def tritonserver() -> Path:
    return _tritonserver()


@pytest.fixture(scope="module")
def moved(converted, tmp_path_factory) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """(the repository: a copy of triton/ alone, the package: moved away from where it was built, its name kept)."""
    root = tmp_path_factory.mktemp("triton") / "structbert"
    shutil.copytree(converted("structbert").root, root)
    assert validate_artifacts(root, variants=[VARIANT]).passed
    built = build_package(root, root.parent / "tiny-zh", variants=[VARIANT], triton=True, archive=False).directory
    repository = shutil.copytree(built / TRITON_DIR, tmp_path_factory.mktemp("elsewhere") / "models")
    package = built.rename(tmp_path_factory.mktemp("away") / built.name)
    assert not built.exists()
    return repository, package


@pytest.fixture(scope="module")
def server(tritonserver, moved, tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """tritonserver on 127.0.0.1 with the text model of the moved repository loaded (skipped before any conversion
    where it cannot run); killed whatever happens."""
    root = tritonserver
    repository, package = moved
    work = tmp_path_factory.mktemp("tritonserver")
    http, grpc, metrics = _free_ports(3)
    env = os.environ | {"PATH": f"{_stub_environment(work / 'python')}/bin:{os.environ['PATH']}",
                        "LD_LIBRARY_PATH": str(root.parents[1] / "nvidia_pytriton.libs")}
    command = [str(root / "bin" / "tritonserver"), f"--model-repository={repository}",
               f"--backend-directory={_backends(root, work / 'backends')}", "--model-control-mode=explicit",
               f"--load-model={model_name(package.name)}", "--disable-auto-complete-config",
               "--http-address=127.0.0.1", f"--http-port={http}", "--grpc-address=127.0.0.1", f"--grpc-port={grpc}",
               "--metrics-address=127.0.0.1", f"--metrics-port={metrics}", "--exit-timeout-secs=5"]
    log = (work / "tritonserver.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"127.0.0.1:{http}"
    try:
        deadline = time.monotonic() + WAIT
        while not _ready(url):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (work / "tritonserver.log").read_bytes()[-3000:].decode(errors="replace")
                pytest.fail(f"tritonserver {'exited' if process.poll() is not None else 'not ready in time'}:\n{tail}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"http://{url}/v2/health/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _infer(client, name: str, texts: list[str]):  # type: ignore[no-untyped-def]
    tensor = triton.InferInput("TEXT", [len(texts), 1], "BYTES")  # a batched model's [n, 1]
    tensor.set_data_from_numpy(np.array(texts, dtype=object).reshape(-1, 1))
    return client.infer(name, [tensor])


def test_a_moved_repository_answers_as_predict_and_serve_do(server, moved):  # type: ignore[no-untyped-def]
    _, package = moved
    texts = [e.text for e in load_corpus("zh")][:6] + ["word " * 400]
    name = model_name(package.name)
    assert name == served_name(package)  # one name for both servers
    with load(package, VARIANT) as classifier:
        want = classifier.predict(texts)
        with running(classifier, ServeConfig(model_name=served_name(package))) as served:
            npuport = triton.InferenceServerClient(served.url.removeprefix("http://"), network_timeout=WAIT)
            try:
                theirs = _infer(npuport, name, texts)
            finally:
                npuport.close()
    client = triton.InferenceServerClient(server, network_timeout=WAIT)
    try:
        assert client.is_model_ready(name)
        result = _infer(client, name, texts)
        scores = result.as_numpy("SCORES")
        np.testing.assert_allclose(scores, [list(p.scores.values()) for p in want], rtol=0, atol=1e-6)
        np.testing.assert_allclose(theirs.as_numpy("SCORES"), scores, rtol=0, atol=1e-6)
        labels, serves = result.as_numpy("LABELS"), theirs.as_numpy("LABELS")
        assert labels.shape == serves.shape == (len(texts), 1)
        # Triton sends BYTES as binary tensor data (bytes), serve as JSON (str): the same JSON arrays
        assert [json.loads(label) for label in labels.reshape(-1)] == [json.loads(label) for label in serves.reshape(-1)]
        assert [json.loads(label) for label in labels.reshape(-1)] == [p.labels for p in want]
        blank = triton.InferInput("TEXT", [1, 1], "BYTES")
        blank.set_data_from_numpy(np.array([[" "]], dtype=object))
        with pytest.raises(InferenceServerException, match="text 0 is empty"):
            client.infer(name, [blank])
    finally:
        client.close()


def test_triton_batches_the_text_model_up_to_its_largest_bucket(server, moved):  # type: ignore[no-untyped-def]
    """The config as the server read it: no preferred size below the maximum (Triton fills the field with
    max_batch_size), so requests that wait while one runs go to model.py together, up to 16 texts."""
    name = model_name(moved[1].name)
    client = triton.InferenceServerClient(server, network_timeout=WAIT)
    try:
        config = client.get_model_config(name)
        batching = config["dynamic_batching"]
        assert config["max_batch_size"] == 16 and batching["preferred_batch_size"] == [16]
        assert int(batching["max_queue_delay_microseconds"]) > 0
        before = client.get_inference_statistics(name)["model_stats"][0]
        clients, start, failures = 8, threading.Barrier(8), []

        def send() -> None:  # two requests of 4 texts from each client, all clients at once
            own = triton.InferenceServerClient(server, network_timeout=WAIT)
            try:
                start.wait()
                for _ in range(2):
                    _infer(own, name, ["今天天气真好，心情非常愉快！"] * 4)
            except Exception as error:  # a thread's exception would otherwise vanish with it
                failures.append(error)
            finally:
                own.close()

        threads = [threading.Thread(target=send) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures, failures
        sent = clients * 2 * 4
        deadline = time.monotonic() + 10  # Triton records a request's statistics when it releases it, after responding
        while True:
            after = client.get_inference_statistics(name)["model_stats"][0]
            texts = int(after["inference_count"]) - int(before["inference_count"])  # a batched model's rows
            if texts >= sent or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        client.close()
    executions = int(after["execution_count"]) - int(before["execution_count"])
    assert texts == sent and executions < clients * 2  # fewer runs of model.py than requests
