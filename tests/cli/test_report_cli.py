"""`npuport report` as a user runs it: the table on stdout, the page and the plot written under reports/."""

from __future__ import annotations

from cli_runner import npuport  # type: ignore[import-not-found]


def test_cli_prints_the_table(bert_copy):
    result = npuport("report", str(bert_copy), "--format", "html", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "trade-off on cpu" in result.stdout and "onnx-int8-dynamic" in result.stdout
    assert (bert_copy / "reports" / "report.html").is_file() and (bert_copy / "reports" / "tradeoff.png").is_file()
