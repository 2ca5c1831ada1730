"""Everything the commands print: rich tables and lines on stdout, or JSON with --json. Measures and decides nothing;
one module per command group, the consoles and shared helpers in `base`."""

from npuport.cli.render.base import announce, emit_json, err, line, out
from npuport.cli.render.buckets import gear_plan
from npuport.cli.render.measure import bench_table, benchmarked, evaluation, reports
from npuport.cli.render.model import converted, manifest_checked, predictions, source_info
from npuport.cli.render.parity import diagnosis, tuned, validation, verification
from npuport.cli.render.score import scored
from npuport.cli.render.ship import packaged
from npuport.cli.render.zoo import zoo_built, zoo_models

__all__ = ["announce", "bench_table", "benchmarked", "converted", "diagnosis", "emit_json", "err", "evaluation", "gear_plan", "line", "manifest_checked", "out", "packaged", "predictions", "reports", "scored", "source_info", "tuned", "validation", "verification", "zoo_built", "zoo_models"]
