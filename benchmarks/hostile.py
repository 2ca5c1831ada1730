"""Hostile inputs, as a user would try them: each case is a real `npuport` command on a damaged model, artifacts
directory, package or text file, or a malformed request to a real `npuport serve` of the package, judged on what a
user sees. Prints a table per case and the totals.

    python benchmarks/hostile.py [--checkout DIR]

`--checkout` runs another source tree's npuport (e.g. a `git worktree` of an older commit) with this interpreter,
for a before/after table. A case is judged:
- traceback: a Python traceback reached the user;
- unclear: not exactly one `error: …` line, or an "unexpected …" error, or (for a refusal) a line that does not name
  what is wrong (`expect` below);
- corrupt: exit 0 where the input must be refused, or output that differs from the undamaged run's;
- slow: a refusal that took longer than the case allows.
A malformed request is judged: traceback (the server's log gained one), unclear (not the expected 4xx with a JSON
error of one line holding `expect`), corrupt (answered 2xx).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

TEXT = "今天真的非常开心，谢谢你们！"


@dataclass
class Case:
    name: str
    issue_item: str
    prepare: Callable[[Path], list[str]]  # scratch dir → npuport arguments
    expect: str  # substring the one error line must hold ("" with refuse=False: must succeed like the clean run)
    refuse: bool = True
    limit_s: float = 30.0


class Runner:
    def __init__(self, checkout: Path | None) -> None:
        self.env = {k: v for k, v in os.environ.items() if k != "NPUPORT_DEBUG"} | {"COLUMNS": "200"}
        if checkout is not None:
            self.env["PYTHONPATH"] = str(checkout)

    def __call__(self, *args: str, timeout: float = 300) -> tuple[subprocess.CompletedProcess[str], float]:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "npuport.cli", *args], capture_output=True, text=True,
                              timeout=timeout, env=self.env)
        return done, time.perf_counter() - started


def build_fixture(root: Path, run: Runner) -> tuple[Path, Path, Path]:
    """A tiny BERT (zh), its ONNX fp32 artifacts, validated, and a package of them."""
    code = ("import sys; from pathlib import Path; from npuport import zoo; "
            "zoo.build_model_dir(zoo.tiny_spec('structbert', 'zh'), Path(sys.argv[1]))")
    subprocess.run([sys.executable, "-c", code, str(root / "model")], check=True, env=run.env)
    for args in (("convert", str(root / "model"), "-o", str(root / "artifacts"), "--formats", "onnx", "--precisions",
                  "fp32", "--shapes", "dynamic"),
                 ("validate", str(root / "artifacts")),
                 ("package", str(root / "artifacts"), "-o", str(root / "dist" / "pkg"), "--no-archive")):
        done, _ = run(*args)
        if done.returncode:
            raise SystemExit(f"fixture step {args[0]} failed: {done.stderr}")
    return root / "model", root / "artifacts", root / "dist" / "pkg"


def cases(model: Path, artifacts: Path, package: Path, run: Runner) -> list[Case]:
    def copy(src: Path, dst: Path) -> Path:
        shutil.copytree(src, dst)
        return dst

    def edit_json(path: Path, change: Callable[[dict], None]) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")

    def package_threshold(tmp: Path) -> list[str]:
        pkg = copy(package, tmp / "pkg")
        edit_json(pkg / "manifest.json", lambda m: m["source"].update(threshold=0.9))
        return ["predict", str(pkg), "--text", TEXT, "--json"]

    def added_tokens(tmp: Path) -> list[str]:
        art = copy(artifacts, tmp / "art")
        (art / "tokenizer" / "added_tokens.json").write_text(json.dumps({"开心": 5}), encoding="utf-8")
        return ["predict", str(art), "--text", TEXT, "--json"]

    def escaping_path(tmp: Path) -> list[str]:
        art = copy(artifacts, tmp / "art")
        edit_json(art / "manifest.json", lambda m: m["variants"][0]["files"][0].update(path="../outside.onnx"))
        shutil.copyfile(art / "onnx" / "fp32-dynamic.onnx", tmp / "outside.onnx")
        return ["predict", str(art), "--text", TEXT]

    def absolute_path(tmp: Path) -> list[str]:
        art = copy(artifacts, tmp / "art")
        edit_json(art / "manifest.json", lambda m: m["golden"]["inputs"].update(path=str(art / "golden" / "inputs.npz")))
        return ["manifest", str(art)]

    def no_tokenizer(tmp: Path) -> list[str]:
        src = copy(model, tmp / "model")
        for name in ("tokenizer.json", "vocab.txt"):
            (src / name).unlink(missing_ok=True)
        return ["inspect", str(src)]

    def line_separator_txt(tmp: Path) -> list[str]:
        path = tmp / "texts.txt"
        path.write_text(f"{TEXT}\u2028还是很开心\n第二行\n", encoding="utf-8")
        return ["predict", str(artifacts), "--texts", str(path), "--json"]

    def line_separator_jsonl(tmp: Path) -> list[str]:
        path = tmp / "texts.jsonl"
        path.write_text(json.dumps({"text": f"{TEXT}\u2028还是"}, ensure_ascii=False) + "\n", encoding="utf-8")
        return ["predict", str(artifacts), "--texts", str(path), "--json"]

    def broken_config(change: Callable[[dict], None], weights: bytes | None = None) -> Callable[[Path], list[str]]:
        def prepare(tmp: Path) -> list[str]:
            src = copy(model, tmp / "model")
            edit_json(src / "config.json", change)
            if weights is not None:
                for name in ("pytorch_model.bin", "model.safetensors"):
                    if (src / name).exists():
                        (src / name).write_bytes(weights)
            return ["convert", str(src), "-o", str(tmp / "out"), "--formats", "onnx", "--precisions", "fp32",
                    "--shapes", "dynamic"]
        return prepare

    def huge_bucket(tmp: Path) -> list[str]:
        return ["convert", str(model), "-o", str(tmp / "out"), "--formats", "onnx", "--precisions", "fp32",
                "--shapes", "static", "--buckets", "99999999999999999999x64"]

    def lone_surrogate(tmp: Path) -> list[str]:
        path = tmp / "texts.jsonl"
        path.write_text('{"text": "\\ud800 hi"}\n', encoding="utf-8")
        return ["predict", str(artifacts), "--texts", str(path)]

    def verify_of(content: bytes | None) -> Callable[[Path], list[str]]:
        def prepare(tmp: Path) -> list[str]:
            path = tmp / "pkg.tar.gz"
            if content is not None:
                path.write_bytes(content)
            return ["verify", str(path)]
        return prepare

    def report_is_a_file(tmp: Path) -> list[str]:
        art = copy(artifacts, tmp / "art")
        (tmp / "report").write_text("not a directory", encoding="utf-8")
        return ["validate", str(art), "--report", str(tmp / "report")]

    def weights_empty(tmp: Path) -> list[str]:
        return broken_config(lambda c: None, weights=b"")(tmp)

    def first_label(name: str) -> Callable[[dict], None]:
        def rename(config: dict) -> None:
            config["label2id"][name] = config["label2id"].pop(config["id2label"]["0"])
            config["id2label"]["0"] = name
        return rename

    def two_labels_for_softmax(tmp: Path) -> list[str]:
        src = copy(model, tmp / "model")
        edit_json(src / "config.json", lambda c: c.update(problem_type="single_label_classification"))
        done, _ = run("convert", str(src), "-o", str(tmp / "art"), "--formats", "onnx", "--precisions", "fp32",
                      "--shapes", "dynamic")
        if done.returncode:
            raise SystemExit(f"case setup (convert a single-label model) failed: {done.stderr}")
        labels = json.loads((src / "config.json").read_text(encoding="utf-8"))["id2label"]
        row = {"text": TEXT, "labels": [labels["0"], labels["1"]]}
        (tmp / "eval.jsonl").write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
        return ["eval", str(tmp / "art"), "--data", str(tmp / "eval.jsonl")]

    return [
        Case("package manifest threshold edited", "5", package_threshold, "SHA256SUMS"),
        Case("unlisted tokenizer/added_tokens.json", "6", added_tokens, "added_tokens.json"),
        Case("variant path ../outside.onnx", "7", escaping_path, "outside"),
        Case("absolute file path in manifest", "7", absolute_path, "absolute"),
        Case("model dir without tokenizer files", "8", no_tokenizer, "tokenizer"),
        Case(".txt line with U+2028 (2 texts)", "11", line_separator_txt, "", refuse=False),
        Case(".jsonl string with raw U+2028", "11", line_separator_jsonl, "", refuse=False),
        Case("empty weights file", "12", weights_empty, "weights"),
        Case('"hidden_size": "abc"', "12", broken_config(lambda c: c.update(hidden_size="abc")), "hidden_size"),
        Case('"threshold": "high"', "12", broken_config(lambda c: c.update(threshold="high")), "threshold"),
        Case("max_position_embeddings 1e12", "12", broken_config(lambda c: c.update(max_position_embeddings=10**12)),
             "max_position_embeddings", limit_s=20),
        Case("--buckets 99999999999999999999x64", "12", huge_bucket, "bucket", limit_s=20),
        Case("lone surrogate in .jsonl", "12", lone_surrogate, "surrogate"),
        Case("verify a missing file", "12", verify_of(None), "does not exist"),
        Case("verify a non-gzip file", "12", verify_of(b"not a tarball at all"), "tar.gz"),
        Case("verify an empty file", "12", verify_of(b""), "tar.gz"),
        Case("validate --report FILE", "12", report_is_a_file, "report", limit_s=15),
        Case("label name 'c,d'", "22", broken_config(first_label("c,d")), "--threshold", limit_s=20),
        Case("blank label name", "22", broken_config(first_label(" ")), "blank", limit_s=20),
        Case("eval row with two labels (single-label model)", "22", two_labels_for_softmax, "single-label", limit_s=60),
    ]


@dataclass
class Request:
    """A malformed request to `npuport serve PACKAGE` (model name: the package directory's, `pkg`)."""

    name: str
    issue_item: str
    path: str
    body: bytes
    status: int
    expect: str  # substring of the one-line error
    headers: dict[str, bytes] = field(default_factory=dict)


BIG = b"9" * 5000  # Python reads no integer of over 4,300 digits from text
TENSOR = b'{"name": "TEXT", "datatype": "BYTES", "shape": [1], "data": ["a"]}'
REQUESTS = [
    Request("5,000-digit top_k", "22", "/predict", b'{"texts": ["a"], "top_k": ' + BIG + b"}", 422, "5000 digits"),
    Request("5,000-digit threshold", "22", "/predict", b'{"texts": ["a"], "threshold": -' + BIG + b"}", 422, "5000 digits"),
    Request("NaN threshold", "22", "/predict", b'{"texts": ["a"], "threshold": NaN}', 400, "NaN"),
    Request("5,000-digit v2 shape", "22", "/v2/models/pkg/infer", TENSOR.replace(b"[1]", b"[" + BIG + b"]").join(
        [b'{"inputs": [', b"]}"]), 400, "5000 digits"),
    Request("v2 parameters a list", "22", "/v2/models/pkg/infer",
            b'{"inputs": [' + TENSOR.replace(b'"data"', b'"parameters": [1], "data"') + b"]}", 400, "parameters"),
    Request("v2 header length '\xb2'", "22", "/v2/models/pkg/infer", b"{}", 400, "header", {
        "inference-header-content-length": b"\xb2"}),
    Request("v2 header length 5,000 digits", "22", "/v2/models/pkg/infer", b"{}", 400, "header", {
        "inference-header-content-length": BIG}),
    Request("v2 version 2", "24", "/v2/models/pkg/versions/2/infer", b'{"inputs": [' + TENSOR + b"]}", 404, "version"),
    Request("v2 infer of another model", "24", "/v2/models/other/infer", b'{"inputs": [' + TENSOR + b"]}", 404, "other"),
]


@contextlib.contextmanager
def serving(package: Path, run: Runner) -> Iterator[tuple[str, list[str]]]:
    """`npuport serve PACKAGE --port 0`: its URL once ready, and its log as it grows."""
    process = subprocess.Popen([sys.executable, "-m", "npuport.cli", "serve", str(package), "--port", "0"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=run.env)
    log: list[str] = []
    assert process.stderr is not None
    threading.Thread(target=lambda: log.extend(process.stderr or []), daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        while not (match := re.search(r"listening on (http://\S+)", "".join(log))):
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("npuport serve did not start:\n" + "".join(log))
            time.sleep(0.05)
        url = match[1]
        while httpx.get(f"{url}/health").status_code != 200:
            time.sleep(0.05)
        yield url, log
    finally:
        process.terminate()
        process.wait(30)


def send(url: str, request: Request, log: list[str]) -> tuple[int, str, dict[str, bool]]:
    tracebacks = "".join(log).count("Traceback")
    response = httpx.post(url + request.path, content=request.body, headers=request.headers, timeout=30)
    time.sleep(0.05)  # the log line of a failure, if any, is written after the answer
    try:
        error = response.json().get("error", "")
    except ValueError:
        error = ""
    clear = (response.status_code == request.status and isinstance(error, str) and "\n" not in error
             and request.expect.lower() in error.lower())
    return response.status_code, error, {"traceback": "".join(log).count("Traceback") > tracebacks,
                                         "unclear": not clear, "corrupt": response.status_code < 300, "slow": False}


def judge(case: Case, done: subprocess.CompletedProcess[str], seconds: float, clean: dict[str, str]) -> dict[str, bool]:
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    traceback = "Traceback" in done.stderr
    if not case.refuse:
        expected = clean[case.name]
        return {"traceback": traceback, "unclear": done.returncode != 0, "corrupt": done.stdout != expected, "slow": False}
    one_line = len(lines) == 1 and lines[0].startswith("error: ")
    unclear = not one_line or "unexpected" in done.stderr or case.expect.lower() not in done.stderr.lower()
    return {"traceback": traceback, "unclear": done.returncode != 0 and unclear, "corrupt": done.returncode == 0,
            "slow": done.returncode != 0 and seconds > case.limit_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, help="run this source tree's npuport instead of the installed one")
    args = parser.parse_args()
    run = Runner(args.checkout)
    console = Console(width=160)
    with tempfile.TemporaryDirectory(prefix="npuport-hostile-") as scratch:
        root = Path(scratch)
        model, artifacts, package = build_fixture(root, run)
        all_cases = cases(model, artifacts, package, run)
        clean = {}
        for name, text in ((".txt line with U+2028 (2 texts)", f"{TEXT}\u2028还是很开心\n第二行\n"),
                           (".jsonl string with raw U+2028", None)):
            path = root / "clean.jsonl"
            rows = [f"{TEXT}\u2028还是很开心", "第二行"] if text else [f"{TEXT}\u2028还是"]
            path.write_text("".join(json.dumps({"text": r}) + "\n" for r in rows), encoding="utf-8")  # ASCII escapes
            clean[name] = run("predict", str(artifacts), "--texts", str(path), "--json")[0].stdout
        table = Table(title=f"hostile inputs — {args.checkout or 'installed npuport'}")
        for column in ("item", "case", "exit", "s", "first stderr line", "verdict"):
            table.add_column(column, overflow="fold")
        totals = {"traceback": 0, "unclear": 0, "corrupt": 0, "slow": 0}
        for number, case in enumerate(all_cases):
            tmp = root / f"case{number}"
            tmp.mkdir()
            done, seconds = run(*case.prepare(tmp))
            verdict = judge(case, done, seconds, clean)
            for key, bad in verdict.items():
                totals[key] += bad
            first = (done.stderr.strip().splitlines() or [""])[0][:110]
            table.add_row(case.issue_item, case.name, str(done.returncode), f"{seconds:.1f}", first,
                          ", ".join(k for k, bad in verdict.items() if bad) or "ok")
        with serving(package, run) as (url, log):
            for request in REQUESTS:
                status, error, verdict = send(url, request, log)
                for key, bad in verdict.items():
                    totals[key] += bad
                table.add_row(request.issue_item, f"serve: {request.name}", str(status), "", error[:110],
                              ", ".join(k for k, bad in verdict.items() if bad) or "ok")
        console.print(table)
        console.print(f"{len(all_cases) + len(REQUESTS)} cases: " + ", ".join(f"{v} {k}" for k, v in totals.items()))


if __name__ == "__main__":
    main()
