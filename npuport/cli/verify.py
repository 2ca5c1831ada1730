"""`npuport verify`: a package's hashes checked and its golden inputs replayed on the target machine."""

from __future__ import annotations

from npuport.cli import render
from npuport.cli.options import DeviceOpt, JsonOpt, OmOpt, PackagePath, SpinOpt, ThreadsOpt, VariantsOpt
from npuport.cli.progress import ProgressBar
from npuport.core.devices import CPU


def verify(package_path: PackagePath, device: DeviceOpt = CPU, variants: VariantsOpt = None, om: OmOpt = None,
           threads: ThreadsOpt = None, spin: SpinOpt = False, as_json: JsonOpt = False) -> None:
    """On the target machine: check every hash, replay the golden inputs, compare with the stored reference.

    Every file is checked; a variant this machine cannot run (TorchScript without torch, a missing device) is listed
    with the reason and not replayed. Exit 0: every variant replayed and passed; 8: one failed; 9: the replayed ones
    passed but some could not run here (--variants narrows to what this machine runs); 6: none could run."""
    from npuport.package.verify import verify_package

    with ProgressBar("verifying", quiet=as_json) as progress:
        result = verify_package(package_path, device, threads, progress=progress, variants=variants or None, om=om)
    render.verification(result, package_path, as_json)
    result.raise_if_failed()
