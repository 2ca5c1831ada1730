"""Unpacking a package: malicious archives (paths outside, absolute paths, symbolic links, hard links to anything but
a file stored before them, a name stored twice) are refused before anything is written, by the library and by
`npuport verify`; a corrupt archive is one clear error. (A real package's hard links, and members it does not list:
tests/package/test_contents.py.)"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from cli_runner import npuport  # type: ignore[import-not-found]

from npuport.core.archive import safe_extract
from npuport.core.errors import IntegrityError


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), b"x"


def _link(name: str, target: str, kind: bytes) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([_file("pkg/manifest.json"), _file("pkg/../../evil.txt")], "points outside the package"),
        ([_file("pkg/manifest.json"), _file("/tmp/evil.txt")], "absolute path"),
        ([_file("pkg/manifest.json"), _link("pkg/model.onnx", "/etc/passwd", tarfile.SYMTYPE)], "links are not allowed"),
        ([_file("pkg/manifest.json"), _link("pkg/model.onnx", "/etc/passwd", tarfile.LNKTYPE)], "links are not allowed"),
        ([_link("pkg/model.onnx", "pkg/manifest.json", tarfile.LNKTYPE), _file("pkg/manifest.json")], "links are not allowed"),
        ([_file("pkg/a"), _link("pkg/b", "pkg/a", tarfile.LNKTYPE), _file("pkg/b")], "stored twice"),
    ],
    ids=["dotdot", "absolute", "symlink", "hardlink-outside", "hardlink-forward", "twice"],
)
def test_malicious_archives_are_refused_before_anything_is_written(tmp_path, members, message):  # type: ignore[no-untyped-def]
    archive = _tar(tmp_path / "bad.tar.gz", members)
    destination = tmp_path / "out"
    destination.mkdir()
    with pytest.raises(IntegrityError, match=message):
        safe_extract(archive, destination)
    assert list(destination.iterdir()) == [] and not (tmp_path / "evil.txt").exists()
    cli = npuport("verify", str(archive))
    assert cli.returncode == 4 and message in cli.stderr


def test_a_corrupt_archive_is_one_clear_error(tmp_path):
    archive = tmp_path / "broken.tar.gz"
    archive.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(IntegrityError, match="is not a readable .tar.gz package"):
        safe_extract(archive, tmp_path)
