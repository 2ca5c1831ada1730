"""What verify prints: the machine, the hashes, the parity table, what was not replayed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from npuport.cli.render.base import emit_json, line
from npuport.cli.render.parity import parity_table

if TYPE_CHECKING:
    from npuport.package.verify import VerifyResult


def verification(result: VerifyResult, package: Path, as_json: bool) -> None:
    if as_json:
        return emit_json({"package": str(result.package), "device": result.device, "passed": result.passed,
                          "machine": result.machine_line, "differences": result.differences,
                          "files_checked": result.files_checked, "variants": [r.as_dict() for r in result.results],
                          "not_replayed": [{"variant": n.variant, "reason": n.reason} for n in result.not_replayed]})
    line(result.machine_line, soft_wrap=True)
    line(f"hashes OK: {result.files_checked} files match SHA256SUMS and the manifest")
    parity_table(result, package)
    for left_out in result.not_replayed:
        line(f"NOT REPLAYED {left_out.variant}: {left_out.reason}", soft_wrap=True)
