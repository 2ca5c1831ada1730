"""`npuport manifest`: every file's sha256 checked against the manifest, the variants listed."""

from __future__ import annotations

from npuport.cli import render
from npuport.cli.options import ArtifactsDir, JsonOpt


def manifest(artifacts: ArtifactsDir, as_json: JsonOpt = False) -> None:
    """Check every file's sha256 against the manifest and list the variants."""
    from npuport.core.manifest import Manifest

    loaded = Manifest.load(artifacts)
    render.manifest_checked(artifacts, loaded, loaded.verify_files(artifacts), as_json)
