"""Everything the commands print: rich tables and lines on stdout, or JSON with --json. Measures and decides nothing;
one module per command (convert and import print alike; validate and verify share `parity`), the consoles
and shared helpers in `base`."""

from npuport.cli.render.base import announce, emit_json, err, line, out
from npuport.cli.render.bench import bench_table, benchmarked
from npuport.cli.render.buckets import bucket_plan
from npuport.cli.render.convert import converted
from npuport.cli.render.doctor import diagnosis
from npuport.cli.render.eval import evaluation
from npuport.cli.render.inspect import source_info
from npuport.cli.render.manifest import manifest_checked
from npuport.cli.render.package import packaged
from npuport.cli.render.predict import predictions
from npuport.cli.render.report import reports
from npuport.cli.render.score import scored
from npuport.cli.render.tune import tuned
from npuport.cli.render.validate import validation
from npuport.cli.render.verify import verification
from npuport.cli.render.zoo import zoo_built, zoo_models

__all__ = ["announce", "bench_table", "benchmarked", "converted", "diagnosis", "emit_json", "err", "evaluation", "bucket_plan", "line", "manifest_checked", "out", "packaged", "predictions", "reports", "scored", "source_info", "tuned", "validation", "verification", "zoo_built", "zoo_models"]
