"""Every file npuport writes under `<artifacts>/reports/`, named once: stages and the CLI take their paths from here."""

from __future__ import annotations

from pathlib import Path

REPORTS_DIR = "reports"
EVAL_FILE = f"{REPORTS_DIR}/eval.json"
PLOT_NAME = "tradeoff.png"


def device_slug(device: str) -> str:
    """A device as a file name part: cuda:0 → cuda-0."""
    return device.replace(":", "-")


def reports_dir(root: Path) -> Path:
    return Path(root) / REPORTS_DIR


def unrecorded_reports_dir(root: Path) -> Path:
    """Reports of runs whose verdicts the manifest does not take (the user's own limits): never over the recorded ones."""
    return reports_dir(root) / "unrecorded"


def validation_paths(report_dir: Path, device: str) -> tuple[Path, Path]:
    """The JSON and Markdown parity reports of one device (`report_dir`: reports/ unless validate was told another)."""
    stem = f"validation-{device_slug(device)}"
    return report_dir / f"{stem}.json", report_dir / f"{stem}.md"


def bench_path(root: Path, device: str) -> Path:
    return reports_dir(root) / f"bench-{device_slug(device)}.json"


def bench_devices(root: Path) -> list[str]:
    """Devices with a bench file (as its name spells them: cuda-0 for cuda:0), cpu first."""
    names = sorted(p.name.removeprefix("bench-").removesuffix(".json") for p in reports_dir(root).glob("bench-*.json"))
    return sorted((name.replace("-", ":") for name in names), key=lambda d: d != "cpu")


def eval_path(root: Path) -> Path:
    return Path(root) / EVAL_FILE


def doctor_stem(root: Path, variant: str, device: str) -> Path:
    """reports/doctor-<variant>-<device>, without its suffix: the JSON and the PNG share it."""
    return reports_dir(root) / f"doctor-{variant}-{device_slug(device)}"


def report_page(root: Path, fmt: str) -> Path:
    return reports_dir(root) / f"report.{fmt}"


def tradeoff_plot(root: Path) -> Path:
    return reports_dir(root) / PLOT_NAME
