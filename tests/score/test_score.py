"""`npuport score`: a killed run resumes with no row lost or doubled, a resume against other inputs is refused,
Ray gives the local engine's bytes, parquet in and out, and bad input is one line naming where it is."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_runner import NPUPORT, cli_env, npuport  # type: ignore[import-not-found]

from npuport.core.corpus import load_corpus
from npuport.core.errors import BackendUnavailableError, InputError
from npuport.score import ScoreOptions, score_corpus
from npuport.score.shards import parts_directory

TEXTS = [example.text for example in load_corpus("zh")]


def corpus(path: Path, rows: int, ids: bool = False) -> Path:
    """`rows` corpus texts (cycled) as .txt, or as .jsonl with an "id" per row when `ids`."""
    texts = [TEXTS[i % len(TEXTS)] for i in range(rows)]
    lines = [json.dumps({"id": f"doc-{i}", "text": t}, ensure_ascii=False) for i, t in enumerate(texts)] if ids else texts
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def output_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_resumes_after_sigkill_without_losing_or_doubling_rows(structbert_artifacts, tmp_path):
    source, output = corpus(tmp_path / "in.txt", 600), tmp_path / "out.jsonl"
    args = [*NPUPORT, "score", structbert_artifacts, source, "-o", output, "--shard-rows", "20", "--batch-size", "4",
            "--threads", "1", "--json"]
    parts = parts_directory(output)
    first = subprocess.Popen(list(map(str, args)), env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(list(parts.glob("shard-*.jsonl"))) < 3 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    first.send_signal(signal.SIGKILL)
    assert first.wait(30) == -signal.SIGKILL, first.stderr.read().decode()
    finished = len(list(parts.glob("shard-*.jsonl")))
    assert 3 <= finished < 30 and not output.exists()
    torn = parts / ".shard-000029.jsonl.x1y2.tmp"  # what a kill inside atomic_path leaves
    torn.mkdir()
    (torn / "shard-000029.jsonl").write_text('{"row": 580, "lab', encoding="utf-8")

    second = subprocess.run(list(map(str, args)), env=cli_env(), capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert summary["resumed_shards"] >= finished and summary["rows"] == 600
    assert summary["scored_rows"] == 600 - 20 * summary["resumed_shards"]
    rows = output_rows(output)
    assert [row["row"] for row in rows] == list(range(600))
    assert all(len(row["scores"]) == 7 and "id" not in row for row in rows)
    assert not parts.exists()


def test_a_resume_against_another_input_or_model_is_refused(structbert_artifacts, tmp_path):
    source, output = corpus(tmp_path / "in.jsonl", 60, ids=True), tmp_path / "out.jsonl"
    options = ScoreOptions(shard_rows=20, batch_size=8)

    scored = []

    def stop_in_second_shard(event):  # predict's batches are "done" events without a label
        if event.get("event") == "done" and event.get("label") is None:
            scored.append(event["steps"])
            if sum(scored) > 20:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        score_corpus(Path(structbert_artifacts), source, output, options, stop_in_second_shard)
    assert [p.name for p in parts_directory(output).glob("shard-*")] == ["shard-000000.jsonl"]
    with pytest.raises(InputError, match=r"out.jsonl.parts holds a run with another model \(.*: delete it to start over"):
        score_corpus(Path(structbert_artifacts), source, output, ScoreOptions(variant="onnx-int8-dynamic", shard_rows=20))
    source.write_text(source.read_text(encoding="utf-8").replace("doc-59", "doc-x"), encoding="utf-8")
    with pytest.raises(InputError, match=r"holds a run with another input \("):
        score_corpus(Path(structbert_artifacts), source, output, options)
    result = score_corpus(Path(structbert_artifacts), corpus(tmp_path / "in.jsonl", 60, ids=True), output, options)
    assert (result.resumed_shards, result.scored_rows) == (1, 40)
    rows = output_rows(output)
    assert [(row["row"], row["id"]) for row in rows] == [(i, f"doc-{i}") for i in range(60)]


def test_ray_engine_gives_the_local_engine_bytes(structbert_artifacts, tmp_path):
    ray = pytest.importorskip("ray")
    source = corpus(tmp_path / "in.jsonl", 120, ids=True)
    local = score_corpus(Path(structbert_artifacts), source, tmp_path / "local.jsonl", ScoreOptions(shard_rows=40))
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        on_ray = score_corpus(Path(structbert_artifacts), source, tmp_path / "ray.jsonl",
                              ScoreOptions(shard_rows=40, engine="ray", workers=2))
    finally:
        ray.shutdown()
    assert (on_ray.rows, on_ray.shards, on_ray.workers) == (local.rows, local.shards, 2) == (120, 3, 2)
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()


def test_parquet_in_and_out(structbert_artifacts, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    texts = [TEXTS[i % len(TEXTS)] for i in range(90)]
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": pa.array(range(1000, 1090), pa.int64()), "text": texts, "lang": ["zh"] * 90}), source,
                   row_group_size=25)  # row groups that do not line up with the shards
    options = ScoreOptions(shard_rows=20)
    score_corpus(Path(structbert_artifacts), source, tmp_path / "out.parquet", options)
    score_corpus(Path(structbert_artifacts), source, tmp_path / "out.jsonl", options)
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column_names == ["row", "id", "labels", "scores", "truncated"]
    assert table.schema.field("scores").type.num_fields == 7
    expected = output_rows(tmp_path / "out.jsonl")
    assert [row["id"] for row in expected] == list(range(1000, 1090))
    for row in expected:
        row["id"] = str(row["id"])  # parquet keeps ids as strings
    assert table.to_pylist() == expected


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("in.csv", "x\n", r"in.csv: unsupported input type '.csv'; use .txt, .jsonl or .parquet"),
        ("in.txt", "好\n\n坏\n", r"in.txt:2: empty line \(each line is one text\)"),
        ("in.txt", "", r"in.txt holds no texts"),
        ("in.jsonl", '{"text": "好"}\n{"text": "好"\n', r"in.jsonl:2: not valid JSON"),
        ("in.jsonl", '{"text": "好"}\n\n{"title": "好"}\n', r'in.jsonl:3: expected an object with a "text" string'),
        ("in.jsonl", '{"text": "好", "id": [1]}\n', r'in.jsonl:1: "id" must be a string or an integer, not list'),
    ],
)
def test_bad_input_is_one_line_naming_where(structbert_artifacts, tmp_path, name, content, message):
    source = tmp_path / name
    source.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        score_corpus(Path(structbert_artifacts), source, tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()


def test_bad_parquet_engine_and_missing_extras(structbert_artifacts, tmp_path, monkeypatch):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"body": ["好"]}), source)
    with pytest.raises(InputError, match=r'in.parquet: expected a "text" column of strings; columns: body'):
        score_corpus(Path(structbert_artifacts), source, tmp_path / "out.jsonl")
    pq.write_table(pa.table({"text": ["好", None]}), source)
    with pytest.raises(InputError, match=r"in.parquet: row 1: text is missing \(null\)"):
        score_corpus(Path(structbert_artifacts), source, tmp_path / "out.jsonl")
    with pytest.raises(InputError, match=r"unknown engine 'spark'; use local or ray"):
        score_corpus(Path(structbert_artifacts), corpus(tmp_path / "in.txt", 3), tmp_path / "out.jsonl", ScoreOptions(engine="spark"))
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(BackendUnavailableError, match=r"--engine ray needs ray, not installed here: pip install 'npuport\[ray\]'"):
        score_corpus(Path(structbert_artifacts), corpus(tmp_path / "in.txt", 3), tmp_path / "out.jsonl", ScoreOptions(engine="ray"))


def test_an_unreachable_ray_cluster_is_one_line_in_seconds(structbert_artifacts, tmp_path):
    pytest.importorskip("ray")
    import socket
    import time

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError, match=rf"cannot reach the Ray cluster at 127.0.0.1:{port}: "):
        score_corpus(Path(structbert_artifacts), corpus(tmp_path / "in.txt", 3), tmp_path / "out.jsonl",
                     ScoreOptions(engine="ray", ray_address=f"127.0.0.1:{port}"))
    assert time.monotonic() - started < 30
    with pytest.raises(InputError, match=r"Ray address 'nohost' is not HOST:PORT"):
        score_corpus(Path(structbert_artifacts), corpus(tmp_path / "in.txt", 3), tmp_path / "out.jsonl",
                     ScoreOptions(engine="ray", ray_address="nohost"))


def test_cli_error_is_one_line_with_exit_code(structbert_artifacts, tmp_path):
    source = corpus(tmp_path / "in.txt", 3)
    bad = npuport("score", structbert_artifacts, source, "-o", tmp_path / "out.csv")
    assert (bad.returncode, bad.stderr) == (7, f"error: {tmp_path / 'out.csv'}: unsupported output type '.csv'; use .jsonl or .parquet\n")
    inside = Path(structbert_artifacts) / "reports" / "scores.jsonl"  # issue 22: it would fail the package's verify
    refused = npuport("score", structbert_artifacts, source, "-o", inside)
    assert refused.returncode == 7 and refused.stderr.startswith(f"error: {inside} is inside {structbert_artifacts}, a package")
    assert not inside.exists() and not inside.with_name("scores.jsonl.parts").exists()
