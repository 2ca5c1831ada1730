"""What validate prints: the parity table, advice, and where the reports are."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from npuport.cli.render.base import emit_json, line
from npuport.cli.render.parity import parity_table

if TYPE_CHECKING:
    from npuport.validate.gate import ValidationRun


def validation(run: ValidationRun, artifacts: Path, as_json: bool) -> None:
    if as_json:
        return emit_json({"device": run.device, "passed": run.passed, "reference": run.reference,
                          "report": {"json": str(run.json_report), "markdown": str(run.markdown_report)},
                          "recorded": run.recorded,
                          "advice": run.advice,
                          "variants": [r.as_dict() for r in run.results]})
    parity_table(run, artifacts)
    for variant, note in run.advice.items():
        if any(r.variant == variant for r in run.results):
            line(f"next for {variant}: {note}", soft_wrap=True)
    line("top-1*/top-k*: a different pick the reference scores within the profile's tolerance counts as a tie; "
         f"reference: {run.reference}")
    line(f"reports: {run.markdown_report}, {run.json_report}", soft_wrap=True)
    if not run.recorded:
        line("not recorded in the manifest: these limits are your own (--profile, --profile-file), so the stored "
             "verdicts stand; --record replaces them", soft_wrap=True)
