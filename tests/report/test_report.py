"""`npuport report` from a tiny model's real artifacts, eval and bench records: the page, the table, the PNG (the
command line: tests/cli/test_report_cli.py)."""

from __future__ import annotations

import base64
import json
import re
import sys

import numpy as np
import pytest

from npuport.bench.benchmark import BenchOptions, bench_artifacts
from npuport.core.errors import BackendUnavailableError
from npuport.core.manifest import Manifest, Validation
from npuport.evaluate.accuracy import evaluate
from npuport.report.build import build_report
from npuport.report.plot import draw_tradeoff
from npuport.report.sources import gather

VARIANTS = ("onnx-fp32-dynamic", "onnx-int8-dynamic", "torchscript-bf16-dynamic")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_real_png(path, min_points: int) -> np.ndarray:
    """A decodable PNG of a readable size, not one flat colour, with coloured markers on it."""
    import matplotlib.image

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(str(path))
    height, width = image.shape[:2]
    assert width >= 800 and height >= 500
    rgb = image[..., :3].reshape(-1, 3)
    assert len(np.unique((rgb * 255).astype(np.uint8), axis=0)) > 50
    saturated = (rgb.max(axis=1) - rgb.min(axis=1)) > 0.3  # marker fill; text, axes and grid are grey
    assert saturated.sum() > 150 * min_points
    return image


def _validate_by_hand(root, manifest: Manifest) -> None:
    """Validation records as `npuport validate` leaves them: one current, one for files that have changed since."""
    int8, bf16 = manifest.variant("onnx-int8-dynamic"), manifest.variant("torchscript-bf16-dynamic")
    records = [Validation(report="reports/validation-cpu.json", variant=int8.id, sha256=int8.digest, device="cpu",
                          profile="int8", passed=True, created="2026-01-01T00:00:00+00:00"),
               Validation(report="reports/validation-cpu.json", variant=bf16.id, sha256="0" * 64, device="cpu",
                          profile="bf16", passed=True, created="2026-01-01T00:00:00+00:00")]
    manifest.model_copy(update={"validations": records}).save(root)


def test_report_from_eval_bench_and_validations(bert_copy):
    evaluate(bert_copy, variants=VARIANTS, threshold=0.05)
    bench = bench_artifacts(bert_copy, BenchOptions(variants=VARIANTS, batch_sizes=(1, 4), max_batches=2, warmup=1))
    document = json.loads(bench.path.read_text(encoding="utf-8"))
    stale = dict(document["records"][0], sha256="f" * 64, variant="onnx-fp16-dynamic")
    earlier = [r | {"run": "2000-01-01T00:00:00.000000+00:00"} if r["variant"] == "torchscript-bf16-dynamic" else r
               for r in document["records"]]  # as if benchmarked alone in an earlier run
    bench.path.write_text(json.dumps(document | {"records": [*earlier, stale]}), encoding="utf-8")
    manifest = Manifest.load(bert_copy)
    _validate_by_hand(bert_copy, manifest)

    result = build_report(bert_copy)
    assert result.axes.x == "throughput" and result.axes.y == "micro_f1" and result.axes.batch_size == 4
    page = result.page.read_text(encoding="utf-8")
    assert result.page.name == "report.md" and "![trade-off plot](tradeoff.png)" in page
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in page.splitlines()
            if line.startswith("| ") and not line.startswith("| variant")}
    assert set(rows) == {v.id for v in manifest.variants}
    int8 = rows["onnx-int8-dynamic"]
    size, p50, rate, engine, ratio, parity, accuracy, f1, delta = int8
    assert size.endswith("MB") and float(p50) > 0 and float(rate.replace(",", "")) > 0 and ratio.endswith("×")
    measured = next(r for r in bench.records if (r.variant, r.batch_size) == ("onnx-int8-dynamic", 4))
    assert engine.startswith(f"{measured.engine_ratio:.2f}×")  # the record's own run
    assert parity == "passed (int8, cpu)" and 0 <= float(accuracy) <= 1 and 0 <= float(f1) <= 1
    assert re.fullmatch(r"[+-]\d\.\d{4}", delta)
    assert rows["torchscript-bf16-dynamic"][5] == "not validated"  # its record is for other files
    assert rows["torchscript-bf16-dynamic"][1:5] == ["—", "—", "", ""]
    assert "speed of torchscript-bf16-dynamic not shown: measured in an earlier bench run" in page
    assert rows["onnx-fp16-dynamic"][1:5] == ["—", "—", "", ""] and rows["onnx-fp16-dynamic"][6] == "—"
    assert "1 record(s) in bench-cpu.json ignored" in page and "1 validation record(s) ignored" in page
    assert "fastest validated variant on cpu at batch 4 (engine-only): onnx-int8-dynamic" in page
    assert_real_png(result.plot, min_points=2)
    _assert_legend_names_what_is_drawn(bert_copy)

    html = build_report(bert_copy, "html")
    text = html.page.read_text(encoding="utf-8")
    embedded = re.search(r'src="data:image/png;base64,([^"]+)"', text)
    assert embedded and base64.b64decode(embedded.group(1)) == html.plot.read_bytes()
    assert text.count("<tr>") == len(manifest.variants) + 1 and "onnx-int8-dynamic" in text


def _assert_legend_names_what_is_drawn(root) -> None:
    """The legend lists the precisions and formats of the drawn points and each reference line, nothing else, and
    every reference line lies inside the axes."""
    import matplotlib.pyplot as plt

    figure, axes = draw_tradeoff(gather(root))
    ax = figure.axes[0]
    drawn = {c.get_label() for c in ax.collections}
    assert drawn == {"onnx-fp32-dynamic", "onnx-int8-dynamic"}  # bf16's speed is of an earlier run: not drawn
    legend = [t.get_text().split("\n")[0] for t in ax.get_legend().get_texts()]
    assert legend == ["fp32", "int8", "onnx", "eager fp32 baseline", "reference eager-fp32"], legend
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    vertical, horizontal = ax.lines[0].get_xdata()[0], ax.lines[1].get_ydata()[0]
    assert x0 < vertical < x1 and y0 < horizontal < y1
    plt.close(figure)


def test_report_with_nothing_measured_plots_export_error_against_size(bert_copy):
    (bert_copy / "reports").mkdir()
    (bert_copy / "reports" / "bench-cpu.json").write_text("{truncated", encoding="utf-8")
    result = build_report(bert_copy)
    assert result.axes.x == "size" and result.axes.y == "export_error"
    page = result.page.read_text(encoding="utf-8")
    assert "not benchmarked on cpu" in page and "not evaluated" in page and "not validated" in page
    assert "bench-cpu.json is not valid JSON" in page
    assert_real_png(result.plot, min_points=len(Manifest.load(bert_copy).variants) - 4)  # shared files overlap


def test_missing_matplotlib_names_the_extra(bert_copy, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(BackendUnavailableError, match=r"pip install 'npuport\[report\]'"):
        build_report(bert_copy)
