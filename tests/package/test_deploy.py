"""`package --deploy`, without a docker engine or a cluster: what `docker build` would do with deploy/Dockerfile is done
here by hand — its COPY lays the package out in a folder standing for the image's root, its check runs there, the
install it runs is pyproject.toml's base install plus `serve` (no torch) — and the image's CMD then serves from that
tree in a process where torch cannot be imported, answering v2 requests as predict does, on the port and probe paths
of deploy/inferenceservice.yaml, which parses (PyYAML) into KServe's v1beta1 custom-predictor shape."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml
from cli_runner import cli_env  # type: ignore[import-not-found]
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from typer.testing import CliRunner

from npuport import __version__
from npuport.cli import app
from npuport.core.devices import CPU, Device
from npuport.core.errors import InputError
from npuport.core.manifest import Manifest
from npuport.package.dockerfile import deploy_variant
from npuport.runtime import load
from npuport.validate.gate import validate_artifacts

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
IMAGE = "registry.example.com/team/tiny-zh:1"
NAME = "Tiny_zh"  # served under this name; KServe's resource name must be a DNS label
TEXTS = ["今天天气真好，心情非常愉快！", "我失去了最好的朋友，太难过了。"]
NO_TORCH = "import sys; sys.modules.update(torch=None, transformers=None, onnx=None, safetensors=None)"
WAIT = 60.0


@dataclass
class Image:
    """What `docker build` would leave: the file tree under `root`, and the settings the CMD runs with."""

    root: Path
    base: str = ""
    args: dict[str, str] = field(default_factory=dict)
    installs: list[str] = field(default_factory=list)
    workdir: str = "/"
    exposed: list[int] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)


def build_tree(dockerfile: Path, context: Path, root: Path) -> Image:
    image = Image(root)
    for line in dockerfile.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        if instruction == "FROM":
            image.base = rest
        elif instruction == "ARG":
            name, _, default = rest.partition("=")
            image.args[name] = shlex.split(default)[0]
        elif instruction == "RUN":
            command = string.Template(rest).substitute(image.args)
            if command.startswith("pip install "):
                image.installs += shlex.split(command)[2:]
            else:  # runs as in the image, in its WORKDIR
                subprocess.run(["sh", "-c", command], cwd=root / image.workdir.lstrip("/"), check=True)
        elif instruction == "COPY":
            source, destination = json.loads(rest)
            shutil.copytree(context / source, root / destination.lstrip("/"))
        elif instruction == "WORKDIR":
            image.workdir = rest
        elif instruction == "EXPOSE":
            image.exposed.append(int(rest))
        elif instruction == "CMD":
            image.cmd = json.loads(rest)
        elif instruction not in ("ENV", "USER"):
            pytest.fail(f"{dockerfile}: this test does not know how to build {instruction}")
    return image


@pytest.fixture(scope="module")
def package(converted, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("deploy") / "structbert"
    shutil.copytree(converted("structbert").root, root)
    assert validate_artifacts(root, variants=["onnx-fp32-dynamic"]).passed
    out = root.parent / NAME
    cli = CliRunner().invoke(app, ["package", str(root), "-o", str(out), "--variants", "onnx-fp32-dynamic", "--deploy",
                                   "--image", IMAGE, "--no-archive", "--json"])
    assert cli.exit_code == 0, cli.output
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_image_tree_serves_the_package_without_torch_where_kserve_looks(package, tmp_path):  # type: ignore[no-untyped-def]
    image = build_tree(package / "deploy" / "Dockerfile", package, tmp_path / "image")
    # the install: this npuport with the serve extra; pyproject gives that no torch, and the image a Python it allows
    (spec,) = image.installs
    requirement, project = Requirement(spec), tomllib.loads(PYPROJECT.read_text())["project"]
    assert (requirement.name, requirement.extras, str(requirement.specifier)) == ("npuport", {"serve"}, f"=={__version__}")
    installed = {Requirement(r).name for r in project["dependencies"] + project["optional-dependencies"]["serve"]}
    assert installed and not installed & {Requirement(r).name for r in project["optional-dependencies"]["convert"]}
    python = re.fullmatch(r"python:(\d+\.\d+)-slim", image.base)
    assert python and python[1] in SpecifierSet(project["requires-python"])
    served = image.root / image.workdir.lstrip("/")  # where COPY put the package, and the CMD serves from
    assert served.name == NAME and image.cmd[2] == image.workdir

    service = yaml.safe_load((package / "deploy" / "inferenceservice.yaml").read_text())
    assert (service["apiVersion"], service["kind"]) == ("serving.kserve.io/v1beta1", "InferenceService")
    assert service["metadata"]["name"] == "tiny-zh"  # a DNS-1035 label, as KServe requires
    (container,) = service["spec"]["predictor"]["containers"]
    assert (container["name"], container["image"]) == ("kserve-container", IMAGE)
    assert {"name": "PROTOCOL", "value": "v2"} in container["env"]
    port = container["ports"][0]["containerPort"]
    assert image.exposed == [port] and image.cmd[image.cmd.index("--port") + 1] == str(port)
    probes = [container[probe]["httpGet"] for probe in ("readinessProbe", "livenessProbe")]
    assert all(probe["port"] == port for probe in probes)

    # the CMD, as the image runs it: its paths inside the tree, loopback and a free port instead of 0.0.0.0:8080
    here = _free_port()
    command = [str(image.root) + arg if arg.startswith("/") else arg for arg in image.cmd[1:]]
    command[command.index("--host") + 1], command[command.index("--port") + 1] = "127.0.0.1", str(here)
    assert image.cmd[0] == "npuport"
    code = f"{NO_TORCH}\nfrom npuport.cli import app\napp(sys.argv[1:], prog_name='npuport')"
    server = subprocess.Popen([sys.executable, "-c", code, *command], env=cli_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{here}"
    try:
        deadline = time.monotonic() + WAIT
        while not _ok(url + probes[0]["path"]):
            assert server.poll() is None and time.monotonic() < deadline, server.communicate(timeout=5)[0][-2000:]
            time.sleep(0.1)
        assert _ok(url + probes[1]["path"])
        body = {"inputs": [{"name": "TEXT", "datatype": "BYTES", "shape": [len(TEXTS)], "data": TEXTS}]}
        answer = httpx.post(f"{url}/v2/models/{NAME}/infer", json=body, timeout=WAIT).json()
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=WAIT)[0]
    assert server.returncode == 0, output[-2000:]
    with load(served, "onnx-fp32-dynamic") as classifier:
        want = [score for p in classifier.predict(TEXTS) for score in p.scores.values()]
    scores = next(o for o in answer["outputs"] if o["name"] == "SCORES")
    assert answer["model_name"] == NAME and scores["data"] == pytest.approx(want, abs=1e-6)


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_deployment_files_are_refused_where_the_base_install_could_not_serve(package, tmp_path):  # type: ignore[no-untyped-def]
    manifest = Manifest.load(package)
    with pytest.raises(InputError, match="builds a CPU image"):
        deploy_variant(manifest, Device("cuda"))
    torchscript = manifest.variants[0].model_copy(update={"id": "torchscript-fp32-dynamic", "format": "torchscript"})
    with pytest.raises(InputError, match="serves an ONNX variant"):
        deploy_variant(manifest.model_copy(update={"variants": [torchscript]}), CPU)
    cli = CliRunner().invoke(app, ["package", str(package), "-o", str(tmp_path / "x"), "--image", IMAGE])
    assert cli.exit_code == 7 and "give it with --deploy" in cli.output and not (tmp_path / "x").exists()
