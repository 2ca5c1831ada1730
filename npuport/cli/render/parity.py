"""What validate, verify, doctor and tune print: parity tables, failures, layer tables, tuning steps."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from npuport.cli.render.base import emit_json, line, new_table, out, size_mb

if TYPE_CHECKING:
    from npuport.doctor.diagnosis import Diagnosis
    from npuport.package.verify import VerifyResult
    from npuport.tune.search import TuneResult
    from npuport.validate.gate import ValidationRun


# parity: validate, verify
_PARITY_COLUMNS = {"cosine mean": "cos mean", "MAE": "MAE", "max abs error": "max |Δp|",
                   "error rate": "err rate", "top-1 untied": "top-1*", "top-k untied": "top-k*",
                   "flips real/borderline": "flips r/b"}


def _parity(run: ValidationRun | VerifyResult, where: Path) -> None:
    """Seed 001's parity table, one row per variant (the Markdown report has every column), then each failure."""
    from npuport.validate.parity_report import COLUMNS, cell

    columns = [(short, key, style) for name, key, style in COLUMNS if (short := _PARITY_COLUMNS.get(name))]
    table = new_table(f"parity on {run.device} — {where}", ["variant", "verdict", *(c[0] for c in columns)],
                   right=[c[0] for c in columns], no_wrap=True)
    for result in run.results:
        entry = result.as_dict()
        table.add_row(result.variant, "PASS" if result.passed else "[bold red]FAIL[/]",
                      *(cell(entry, key, style) for _, key, style in columns))
    out.print(table)
    for result in run.results:
        for failure in result.failures:
            line(f"FAIL {result.variant}: {failure}")


def validation(run: ValidationRun, artifacts: Path, as_json: bool) -> None:
    if as_json:
        return emit_json({"device": run.device, "passed": run.passed, "reference": run.reference,
                          "report": {"json": str(run.json_report), "markdown": str(run.markdown_report)},
                          "recorded": run.recorded,
                          "advice": run.advice,
                          "variants": [r.as_dict() for r in run.results]})
    _parity(run, artifacts)
    for variant, note in run.advice.items():
        if any(r.variant == variant for r in run.results):
            line(f"next for {variant}: {note}", soft_wrap=True)
    line("top-1*/top-k*: a different pick the reference scores within the profile's tolerance counts as a tie; "
         f"reference: {run.reference}")
    line(f"reports: {run.markdown_report}, {run.json_report}", soft_wrap=True)
    if not run.recorded:
        line("not recorded in the manifest: these limits are your own (--profile, --profile-file), so the stored "
             "verdicts stand; --record replaces them", soft_wrap=True)


def verification(result: VerifyResult, package: Path, as_json: bool) -> None:
    if as_json:
        return emit_json({"package": str(result.package), "device": result.device, "passed": result.passed,
                          "machine": result.machine_line, "differences": result.differences,
                          "files_checked": result.files_checked, "variants": [r.as_dict() for r in result.results],
                          "not_replayed": [{"variant": n.variant, "reason": n.reason} for n in result.not_replayed]})
    line(result.machine_line, soft_wrap=True)
    line(f"hashes OK: {result.files_checked} files match SHA256SUMS and the manifest")
    _parity(result, package)
    for left_out in result.not_replayed:
        line(f"NOT REPLAYED {left_out.variant}: {left_out.reason}", soft_wrap=True)


def diagnosis(result: Diagnosis, as_json: bool) -> None:
    """Doctor's table: one row per probe point in forward order, the first past the budget marked, then suspects."""
    if as_json:
        return emit_json(result.as_dict())
    budget = f"cosine ≥ {result.budget:g}" if result.budget is not None else "none"
    table = new_table(f"{result.variant} on {result.device} against the fp32 eager reference — {result.inputs}",
                   ["point", "cos min", "cos mean", "max |Δ|", "max rel", "growth", ""],
                   right=["cos min", "cos mean", "max |Δ|", "max rel", "growth"], no_wrap=True,
                   caption=f"budget (the {result.variant.split('-')[1]} profile's min cosine, at every point): {budget}; "
                           "hidden states per real token, the output per text on probabilities (as validate judges); "
                           "rel = max |Δ| / max |reference|; growth = rel / the previous point's rel",
                   caption_justify="left")
    first = result.first_past_budget
    for layer in result.layers:
        mark = "← first past budget" if layer is first else ("past budget" if layer.past_budget else "")
        table.add_row(layer.probe.label, f"{layer.cosine_min:.6f}", f"{layer.cosine_mean:.6f}",
                      f"{layer.max_abs_error:.2e}", f"{layer.max_rel_error:.2e}",
                      "" if layer.growth is None else f"{layer.growth:.2f}×", mark, style="bold red" if layer is first else None)
    out.print(table)
    grown = result.largest_growth
    if first is None:
        line(f"every point is within the budget on {result.device} ({result.engine})")
    else:
        line(f"the error first exceeds the budget at {first.probe.label}" +
             (f"; it grows most at {grown.probe.label} ({grown.growth:.2f}×)" if grown and first.probe.label.startswith("output")
              else ""), soft_wrap=True)
    if result.suspects:
        line("nodes computing that block: " + ", ".join(f"{node} ({op})" for op, node in result.suspects[:12])
             + (f" … {len(result.suspects) - 12} more" if len(result.suspects) > 12 else ""), soft_wrap=True)
    for note in result.notes:
        line(f"note: {note}", soft_wrap=True)
    line(f"written: {result.json_path}" + (f", {result.plot_path}" if result.plot_path else ""), soft_wrap=True)


def tuned(result: TuneResult, as_json: bool) -> None:
    """Tune's steps: what each candidate kept in fp32 and what that bought, the last one the verdict."""
    if as_json:
        return emit_json({"artifacts": str(result.artifacts), "precision": result.precision, "variant": result.variant,
                          "passed": result.passed, "kept_fp32": result.kept, "calibration": result.calibration,
                          "smoothing": result.smoothing, "keep_list": str(result.keep_list) if result.keep_list else None,
                          "steps": [s.model_dump() for s in result.steps]})
    table = new_table(f"tune {result.precision} — {result.artifacts}, from {result.base}",
                   ["step", "method", "kept in fp32", "added", "size", "× fp32 speed", "cos min", "max |Δp|", "top-1*", "flips", "verdict"],
                   right=["step", "kept in fp32", "size", "× fp32 speed", "cos min", "max |Δp|", "top-1*", "flips"],
                   no_wrap=["step", "size", "verdict"])
    for number, s in enumerate(result.steps):
        table.add_row(str(number), s.method, str(s.kept), s.added, size_mb(s.bytes), f"{s.speed_vs_fp32:.2f}", f"{s.cosine_min:.5f}",
                      f"{s.max_abs_error:.4f}", f"{s.top1_agreement:.1%}", "" if s.real_flips is None else str(s.real_flips),
                      "PASS" if s.passed else "fail")
    out.print(table)
    if result.calibration:
        line(f"calibration: {result.calibration}")
    if result.smoothing:
        line(f"smoothing: {result.smoothing}", soft_wrap=True)
    if result.passed:
        line(f"written: variant {result.variant} ({len(result.kept)} nodes kept in fp32); validate it with "
             f"`npuport validate {result.artifacts} --variants {result.variant}`", soft_wrap=True)
    if result.keep_list:
        line(f"ATC keep-list (--keep_dtype): {result.keep_list}", soft_wrap=True)
    for note in result.notes:
        line(f"note: {note}", soft_wrap=True)
