"""Parity reports: JSON for machines, Markdown for people — one table per device in the shape of seed 001's.

A report file holds the latest result of every variant validated on that device: a run that validates a
subset replaces those entries and keeps the others (while their files are unchanged).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from npuport.core.files import write_text_atomic
from npuport.core.manifest import Manifest, Platform
from npuport.core.reports.keep import read_json_list, still_current
from npuport.core.reports.paths import validation_paths
from npuport.validate.metrics import Comparison
from npuport.validate.profiles import Profile

REPORT_SCHEMA = "npuport.validation/1"

# (column, path into an entry's end-to-end probability comparison, format)
COLUMNS: list[tuple[str, str, str]] = [
    ("cosine mean", "cosine_mean", "{:.6f}"),
    ("cosine min", "cosine_min", "{:.6f}"),
    ("MAE", "mae", "{:.6f}"),
    ("max abs error", "max_abs_error", "{:.6f}"),
    ("RMSE", "rmse", "{:.6f}"),
    ("KL", "kl_divergence", "{:.2e}"),
    ("error rate", "error_rate", "pct"),
    ("top-1", "top1_agreement", "pct1"),
    ("top-1 untied", "top1_agreement_untied", "pct1"),
    ("top-k", "topk_overlap", "pct1"),
    ("top-k untied", "topk_overlap_untied", "pct1"),
    ("decisions", "decision_agreement", "pct1"),
    ("flips real/borderline", "", "flips"),
    ("smallest passing atol", "smallest_passing_atol", "{:.2e}"),
]


def report_failures(entry: dict[str, Any]) -> list[str]:
    """An entry's verdict re-judged from its measured figures under its recorded limits, never its stored `passed`
    flags: each failing check, described (empty: it passes). `package` judges what it ships with it."""
    profile = Profile(**entry["profile"])
    figures = entry["end_to_end"]["probabilities"]
    # reports written before `decisions` was recorded judged one threshold decision per element
    comparison = Comparison(**{"decisions": figures["texts"] * figures["labels"]} | figures)
    return [check.describe() for check in profile.checks(comparison) if not check.passed]


def merge_entries(json_path: Path, manifest: Manifest, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """New entries first in manifest order, then earlier entries of other variants whose files are unchanged."""
    kept = {e["variant"]: e for e in still_current(read_json_list(json_path, "variants"), manifest.variants)}
    kept.update({e["variant"]: e for e in new})
    order = {v.id: i for i, v in enumerate(manifest.variants)}
    return sorted(kept.values(), key=lambda e: order.get(e["variant"], len(order)))


def write_reports(report_dir: Path, manifest: Manifest, device: str, entries: list[dict[str, Any]]) -> tuple[Path, Path]:
    json_path, md_path = validation_paths(report_dir, device)
    merged = merge_entries(json_path, manifest, entries)
    document = {
        "schema": REPORT_SCHEMA,
        "model": Path(manifest.source.path).name,
        "architecture": manifest.source.architecture,
        "labels": manifest.source.num_labels,
        "activation": manifest.source.activation,
        "threshold": manifest.source.threshold,
        "device": device,
        "passed": all(e["passed"] for e in merged),
        "variants": merged,
    }
    write_text_atomic(json_path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(md_path, markdown(document))
    return json_path, md_path


def cell(entry: dict[str, Any], key: str, style: str, comparison: str = "end_to_end") -> str:
    """One table cell of an entry's probability comparison, formatted for people."""
    data = entry[comparison]["probabilities"] if comparison == "end_to_end" else entry[comparison]
    if style == "flips":
        if data.get("real_flips") is None:
            return "—"
        return f"{data['real_flips']}/{data['borderline_flips']}"
    value = data.get(key)
    if value is None:
        return "—"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if style == "pct":
        return f"{value:.4%}"
    if style == "pct1":
        return f"{value:.1%}"
    return style.format(value)


def _where(entry: dict[str, Any]) -> str:
    """Where an entry's verdict was reached (older report entries do not say)."""
    platform = entry.get("platform")
    return Platform.model_validate(platform).describe() if platform else "an unrecorded machine"


def markdown(document: dict[str, Any]) -> str:
    entries = document["variants"]
    lines = [
        f"# Parity report: {document['model']} on {document['device']}",
        "",
        f"{document['architecture']}, {document['labels']} labels, {document['activation']}, threshold "
        f"{document['threshold']}. Reference: the source model in fp32, eager, on the CPU. Metrics on probabilities; "
        "decision flips are counted apart where the reference lies within the profile's tolerance of the threshold "
        "(borderline) and where it does not (real). Untied top-1/top-k count a different pick as agreement when "
        "the reference scores both labels within the profile's tolerance (the checks use these).",
        "",
        f"Computed on: {'; '.join(sorted({_where(e) for e in entries}))}. A verdict holds for this CPU class and these "
        "libraries (int8 and bf16 kernels differ between instruction sets): on another machine, `npuport verify` "
        "replays the golden inputs there.",
        "",
        f"**Verdict: {'PASS' if document['passed'] else 'FAIL'}** — "
        f"{sum(e['passed'] for e in entries)} of {len(entries)} variants pass their profile.",
        "",
        "| variant | verdict | " + " | ".join(c[0] for c in COLUMNS) + " |",
        "|---|---|" + "---:|" * len(COLUMNS),
    ]
    for e in entries:
        verdict = "PASS" if e["passed"] else "**FAIL**"
        lines.append(f"| {e['variant']} | {verdict} | " + " | ".join(cell(e, k, s) for _, k, s in COLUMNS) + " |")
    lines.append("")
    failing = [e for e in entries if not e["passed"]]
    if failing:
        lines += ["## Failures", ""]
        lines += [f"- **{e['variant']}** ({e['profile']['name']} profile): {'; '.join(e['failures'])}" for e in failing]
        lines.append("")
    device_only = [e for e in entries if e.get("device_only")]
    if device_only:
        lines += ["## Device drift (variant on the CPU → variant on the device)", "",
                  "| variant | cosine min | max abs error | top-1 | flips real/borderline |", "|---|---:|---:|---:|---:|"]
        for e in device_only:
            lines.append(f"| {e['variant']} | " + " | ".join(cell(e, k, s, "device_only") for k, s in
                         (("cosine_min", "{:.6f}"), ("max_abs_error", "{:.6f}"), ("top1_agreement", "pct1"), ("", "flips"))) + " |")
        lines.append("")
    lines += ["## Logits", "", "| variant | cosine min | max abs error | max rel error |", "|---|---:|---:|---:|"]
    for e in entries:
        logits = e["end_to_end"]["logits"]
        lines.append(f"| {e['variant']} | {logits['cosine_min']:.6f} | {logits['max_abs_error']:.3e} | {logits['max_rel_error']:.3e} |")
    lines += ["", "## Profiles and inputs", ""]
    for e in entries:
        limits = ", ".join(f"{k}={v}" for k, v in e["profile"].items() if k != "name" and v is not None)
        buckets = ", ".join(f"{b['bucket']}: {b['texts']} texts" for b in e["buckets"])
        lines.append(f"- **{e['variant']}** — {e['engine']}; profile {e['profile']['name']} ({limits}); "
                     f"{e['end_to_end']['probabilities']['texts']} text rows ({buckets}); on {_where(e)}; sha256 {e['sha256'][:16]}…; "
                     f"reference: {e['reference']}")
    notes = [(e["variant"], c) for e in entries for c in e["caveats"]]
    if notes:
        lines += ["", "## Caveats", ""]
        lines += [f"- {variant}: {note}" for variant, note in notes]
    return "\n".join(lines) + "\n"
