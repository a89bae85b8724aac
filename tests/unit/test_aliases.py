"""Joining a split zip into the cache: verified, reused, rebuilt when damaged."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from distilcli.errors import DistilError
from distilcli.models.aliases import CACHE_MARKER, ZipPiece, cache_root, join_and_unzip


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


@pytest.fixture
def pieces(tmp_path: Path) -> list[ZipPiece]:
    """A zip of a small 'model folder' split into three pieces, as the mpnet packages ship it."""
    archive = tmp_path / "whole.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("m/config.json", '{"model_type": "bert"}')
        zf.writestr("m/model.safetensors", b"\x00" * 5000 + b"weights")
        zf.writestr("m/sub/extra.txt", "hello")
        zf.writestr("m/desktop.ini", "junk")
    data = archive.read_bytes()
    third = len(data) // 3 + 1
    out = []
    for i in range(3):
        chunk = data[i * third : (i + 1) * third]
        path = tmp_path / f"m.zip.{i + 1:03d}"
        path.write_bytes(chunk)
        out.append(ZipPiece(path, len(chunk), _b64(chunk)))
    return out


def test_join_and_unzip(pieces: list[ZipPiece], tmp_path: Path) -> None:
    folder = join_and_unzip(pieces, tmp_path / "cache" / "m", strip_prefix="m/")
    assert (folder / "config.json").read_text() == '{"model_type": "bert"}'
    assert (folder / "sub" / "extra.txt").read_text() == "hello"
    assert not (folder / "desktop.ini").exists()
    marker = json.loads((folder / CACHE_MARKER).read_text())
    assert set(marker["files"]) == {"config.json", "model.safetensors", "sub/extra.txt"}
    # Nothing but the folder is left in the cache.
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["m"]


def test_cache_reused(pieces: list[ZipPiece], tmp_path: Path) -> None:
    folder = join_and_unzip(pieces, tmp_path / "c", strip_prefix="m/")
    stamp = (folder / "config.json").stat().st_mtime_ns
    for piece in pieces:  # pieces gone: a reuse must not need them
        piece.path.rename(piece.path.with_suffix(".moved"))
    assert join_and_unzip(pieces, tmp_path / "c", strip_prefix="m/") == folder
    assert (folder / "config.json").stat().st_mtime_ns == stamp


def test_damaged_cache_is_rebuilt(pieces: list[ZipPiece], tmp_path: Path) -> None:
    folder = join_and_unzip(pieces, tmp_path / "c", strip_prefix="m/")
    (folder / "model.safetensors").write_bytes(b"truncated")
    join_and_unzip(pieces, tmp_path / "c", strip_prefix="m/")
    assert (folder / "model.safetensors").read_bytes().endswith(b"weights")


def test_corrupt_piece_detected(pieces: list[ZipPiece], tmp_path: Path) -> None:
    bad = pieces[1].path.read_bytes()
    pieces[1].path.write_bytes(bytes([bad[0] ^ 0xFF]) + bad[1:])
    with pytest.raises(DistilError, match="corrupt"):
        join_and_unzip(pieces, tmp_path / "c", strip_prefix="m/")
    assert not (tmp_path / "c").exists()
    assert list(tmp_path.glob(".c.*")) == []


def test_cache_root_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DISTILCLI_CACHE", str(tmp_path / "x"))
    assert cache_root() == tmp_path / "x"
    monkeypatch.delenv("DISTILCLI_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "distilcli"
