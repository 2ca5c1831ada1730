"""`npuport buckets plan` as a user runs it: buckets for the bundled zh corpus under the artifacts' saved tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

from cli_runner import npuport  # type: ignore[import-not-found]

import npuport as package

CORPUS = Path(package.__file__).parent / "data" / "corpus_zh.jsonl"


def test_plan_pads_the_corpus_less_than_the_defaults_within_four_buckets(structbert_artifacts):
    result = npuport("buckets", "plan", structbert_artifacts, "--texts", CORPUS, "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    gears = plan["buckets"].split(",")
    assert 2 <= len(gears) <= 4 and gears[-1].startswith("16x")
    assert plan["after"]["texts"] == plan["before"]["texts"] == 239
    assert plan["after"]["padding"] < plan["before"]["padding"]
    longest = max(int(g.split("x")[1]) for g in gears)
    assert longest == plan["max_length"] or plan["after"]["truncated"] == 0

    refused = npuport("buckets", "plan", structbert_artifacts, "--texts", CORPUS, "--max-buckets", "1")
    assert refused.returncode == 5 and refused.stderr.startswith("error: 1 buckets leave no room for 2 batch sizes")
