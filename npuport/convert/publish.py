"""Publishing a conversion: staged files into the artifacts directory, in place, with no window in which the directory
is unusable.

The invariant, at every instant, whatever step a crash (or kill -9) interrupts: `manifest.json` is present — the old
one, a transitional one, or the new one — and every file it lists exists with its recorded sha256. Paths in a
manifest are stable API (`onnx/fp32-dynamic.onnx`), so new files take their final names, and the directory itself
stays (it may be a mount point, its parent read-only). How, for the manifest that is live when publishing starts:

1. Leftovers of an earlier interrupted publish under `.npuport-publish/` that the live manifest does not list go.
2. `.npuport-publish/journal.json` records the files about to land: from here on a re-run knows the directory as its
   own even if no manifest was ever written (a first conversion that died mid-publish).
3. Every live file the new files will overwrite with other bytes is hard-linked to `.npuport-publish/<path>`, and a
   transitional manifest — the live one, with those paths pointing at the links — replaces the live one by rename.
   The tokenizer moves as one directory: if its file set or any file changes, all of it is redirected, so the
   directory the live manifest names never holds a file it does not list.
4. Each staged file is renamed to its final path. The live manifest lists none it changes.
5. Files in the owned folders that neither manifest lists go (the live one cannot name them).
6. The new manifest replaces the transitional one by rename: the commit point (after fsyncs, so renames before it
   survive a power cut too).
7. What only the old manifest listed, `.npuport-publish/` and the staging folder go.

A crash anywhere leaves a valid directory that `load` uses as it is; the next `convert` (under the output lock)
publishes over it by the same steps. `reports/` and anything else outside the owned folders are never touched.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from npuport.core.errors import ManifestError
from npuport.core.files import fsync_directory, fsync_file, write_text_atomic
from npuport.core.manifest import MANIFEST_NAME, FileRecord, Manifest

OWNED_DIRS = ("torchscript", "torchexport", "onnx", "tokenizer", "golden", "tune")  # tune/: keep-lists of tuned variants
WORK_DIR = ".npuport-publish"
JOURNAL = "journal.json"


def live_manifest(root: Path) -> Manifest | None:
    """The manifest in `root` now; None when there is none or it is unreadable (then it is simply replaced)."""
    if not (root / MANIFEST_NAME).is_file():
        return None
    try:
        return Manifest.load(root)
    except ManifestError:
        return None


def interrupted_publish(root: Path) -> bool:
    """Whether a publish into `root` started and did not finish (its journal is there)."""
    return (root / WORK_DIR / JOURNAL).is_file()


def publish(staging: Path, root: Path, manifest: Manifest) -> None:
    """Move `manifest`'s files from `staging` into `root` and make `manifest` live (steps in the module docstring)."""
    work = root / WORK_DIR
    live = live_manifest(root)
    listed = _paths(live)
    _remove_unlisted(work, listed, keep={f"{WORK_DIR}/{JOURNAL}"})  # 1
    incoming = {record.path: record for record in manifest.all_files()}
    for rel in incoming:
        fsync_file(staging / rel)
    write_text_atomic(work / JOURNAL, json.dumps({"placing": sorted(incoming)}, indent=1) + "\n")  # 2
    if live is not None:  # 3
        moved = _overwritten(live, incoming)
        for rel in sorted(moved):
            _link_or_copy(root / rel, work / rel)
        if moved:
            _fsync_parents(work, moved)
            live = _redirected(live, moved)
            live.save(root)
            listed = _paths(live)
    for rel in sorted(incoming):  # 4
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / rel, root / rel)
    _prune(root, keep=set(incoming) | listed)  # 5
    _fsync_parents(root, incoming)
    manifest.save(root)  # 6
    fsync_directory(root)
    _prune(root, keep=set(incoming))  # 7
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)


def _paths(manifest: Manifest | None) -> set[str]:
    return {record.path for record in manifest.all_files()} if manifest is not None else set()


def _overwritten(live: Manifest, incoming: dict[str, FileRecord]) -> set[str]:
    """Live paths that step 4 would give other bytes; the whole tokenizer if its file set or any file changes."""
    changed = {r.path for r in live.all_files() if r.path in incoming and incoming[r.path].sha256 != r.sha256}
    tokenizer = {r.path for r in live.tokenizer.files if not r.path.startswith(f"{WORK_DIR}/")}
    new_tokenizer = {path for path in incoming if path.startswith("tokenizer/")}
    if tokenizer and (tokenizer & changed or tokenizer != new_tokenizer):
        changed |= tokenizer
    for variant in live.variants:  # ONNX graphs read their weights file by name beside them: they move together
        paths = {r.path for r in variant.records}
        if variant.weights and paths & changed:
            changed |= paths
    return changed


def _redirected(live: Manifest, moved: set[str]) -> Manifest:
    """`live` with each record in `moved` pointing at its hard link under WORK_DIR (same bytes, same sha256)."""

    def at(record):  # type: ignore[no-untyped-def]
        return record.model_copy(update={"path": f"{WORK_DIR}/{record.path}"}) if record.path in moved else record

    return live.model_copy(update={
        "tokenizer": live.tokenizer.model_copy(update={"files": [at(r) for r in live.tokenizer.files]}),
        "golden": live.golden.model_copy(update={"inputs": at(live.golden.inputs), "reference": at(live.golden.reference)}),
        "variants": [v.model_copy(update={"files": [at(f) for f in v.files], "weights": v.weights and at(v.weights)})
                     for v in live.variants],
        "peer_config": at(live.peer_config) if live.peer_config else None,
    })


def _link_or_copy(source: Path, target: Path) -> None:
    if not source.is_file():  # the live manifest was broken already: nothing to preserve
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links: a copy holds the same bytes
        shutil.copyfile(source, target)
        fsync_file(target)


def _fsync_parents(root: Path, paths: set[str] | dict[str, FileRecord]) -> None:
    for folder in sorted({(root / rel).parent for rel in paths}):
        fsync_directory(folder)


def _remove_unlisted(folder: Path, listed: set[str], keep: set[str]) -> None:
    """Files under `folder` that no manifest lists, relative to its parent (the artifacts root)."""
    if not folder.is_dir():
        return
    root = folder.parent
    for path in sorted(folder.rglob("*"), reverse=True):
        rel = path.relative_to(root).as_posix()
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        elif rel not in listed and rel not in keep:
            path.unlink()


def _prune(root: Path, keep: set[str]) -> None:
    """Remove files in the owned folders that are not in `keep`, then owned folders left empty."""
    for sub in OWNED_DIRS:
        _remove_unlisted(root / sub, keep, keep=set())
        if (root / sub).is_dir() and not any((root / sub).iterdir()):
            (root / sub).rmdir()
