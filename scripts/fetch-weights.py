#!/usr/bin/env python3
"""Download the SAM-family checkpoints listed in scripts/checkpoints.tsv into weights/ and verify them.

Usage: scripts/fetch-weights.py [NAME_OR_FAMILY ...]   (no argument: every checkpoint)

Each file is written to a temporary `.part` file and renamed only after its size and sha256 match
the manifest. Files already in weights/ are verified, not downloaded again. Standard library only.
"""

import hashlib
import http.client
import sys
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Optional

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "scripts" / "checkpoints.tsv"
WEIGHTS = ROOT / "weights"
COLUMNS = ["name", "filename", "url", "size", "sha256", "family", "notes"]
UNKNOWN = "unknown"
# Seconds to wait for a connection (and for any stalled read): fail fast when offline.
NETWORK_TIMEOUT = 15
CHUNK = 1 << 20


class FetchError(Exception):
    """A one-line, user-facing reason why a checkpoint is not ready."""


@dataclass(frozen=True)
class Checkpoint:
    name: str
    filename: str
    url: str
    size: Optional[int]
    sha256: Optional[str]
    family: str

    @property
    def path(self) -> Path:
        return WEIGHTS / self.filename

    @property
    def archive_path(self) -> Optional[Path]:
        """Where the downloaded archive goes when upstream ships the file zipped."""
        archive_name = self.url.rsplit("/", 1)[-1]
        return WEIGHTS / archive_name if archive_name.endswith(".zip") else None

    def expectation(self) -> str:
        if self.size is None and self.sha256 is None:
            return "size and sha256 unknown"
        size = f"{self.size:,} bytes" if self.size is not None else "size unknown"
        sha = f"sha256 {self.sha256}" if self.sha256 else "sha256 unknown"
        return f"{size}, {sha}"


def shown(path: Path) -> str:
    """Path as the user typed it from the repository root."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def read_manifest() -> list:
    try:
        lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise FetchError(f"cannot read {shown(MANIFEST)}: {error.strerror}")
    rows = [(number, line) for number, line in enumerate(lines, 1)
            if line.strip() and not line.startswith("#")]
    if not rows or rows[0][1].split("\t") != COLUMNS:
        raise FetchError(f"{shown(MANIFEST)}: first row must be the header {' '.join(COLUMNS)} (tab-separated)")
    checkpoints = []
    for number, line in rows[1:]:
        where = f"{shown(MANIFEST)}:{number}"
        fields = line.split("\t")
        if len(fields) != len(COLUMNS):
            raise FetchError(f"{where}: expected {len(COLUMNS)} tab-separated columns, found {len(fields)}")
        name, filename, url, size, sha256, family, _notes = fields
        if size != UNKNOWN and not size.isdigit():
            raise FetchError(f"{where}: size must be a byte count or '{UNKNOWN}', not '{size}'")
        if sha256 != UNKNOWN and (len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256)):
            raise FetchError(f"{where}: sha256 must be 64 lowercase hex digits or '{UNKNOWN}'")
        if any(c.name == name for c in checkpoints):
            raise FetchError(f"{where}: duplicate name '{name}'")
        checkpoints.append(Checkpoint(name, filename, url, None if size == UNKNOWN else int(size),
                                      None if sha256 == UNKNOWN else sha256, family))
    return checkpoints


def select(checkpoints: list, requested: list) -> list:
    if not requested:
        return checkpoints
    chosen = []
    for word in requested:
        matches = [c for c in checkpoints if word in (c.name, c.family)]
        if not matches:
            names = ", ".join(c.name for c in checkpoints)
            families = ", ".join(sorted({c.family for c in checkpoints}))
            raise FetchError(f"unknown checkpoint '{word}' (names: {names}; families: {families})")
        chosen += [c for c in matches if c not in chosen]
    return chosen


def copy_hashing(source: BinaryIO, part: Path, label: str, total: Optional[int]) -> tuple:
    """Stream source into part; returns (bytes written, sha256 hex). Shows progress on a terminal."""
    digest = hashlib.sha256()
    written = 0
    last_report = 0.0
    show_progress = sys.stderr.isatty()
    with open(part, "wb") as out:
        while True:
            block = source.read(CHUNK)
            if not block:
                break
            out.write(block)
            digest.update(block)
            written += len(block)
            if show_progress and time.monotonic() - last_report > 0.5:
                last_report = time.monotonic()
                of_total = f" of {total // CHUNK:,}" if total else ""
                print(f"\r  {label}: {written // CHUNK:,}{of_total} MiB", end="", file=sys.stderr)
    if show_progress:
        print(file=sys.stderr)
    return written, digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def mismatch(checkpoint: Checkpoint, size: int, sha256: str) -> Optional[str]:
    """Why (size, sha256) is not the manifest's checkpoint, or None when it matches what is known."""
    if checkpoint.size is not None and size != checkpoint.size:
        return f"is {size:,} bytes, expected {checkpoint.size:,}"
    if checkpoint.sha256 is not None and sha256 != checkpoint.sha256:
        return f"has sha256 {sha256}, expected {checkpoint.sha256}"
    return None


def report_ready(checkpoint: Checkpoint, size: int, sha256: str, how: str) -> None:
    if checkpoint.size is not None and checkpoint.sha256 is not None:
        print(f"weights: {checkpoint.filename} {how}, verified ({size:,} bytes, sha256 {sha256})", flush=True)
        return
    print(f"weights: WARNING {checkpoint.filename} {how} but NOT verified: no published size/sha256 "
          f"is known (this copy: {size:,} bytes, sha256 {sha256}). Record them in "
          f"{shown(MANIFEST)} once confirmed against the upstream file.", flush=True)


def download_failure(checkpoint: Checkpoint, reason: str) -> FetchError:
    place = shown(checkpoint.path)
    if checkpoint.archive_path is not None:
        place = f"{shown(checkpoint.archive_path)} or, unzipped, at {place}"
    return FetchError(f"could not download {checkpoint.filename} from {checkpoint.url} ({reason}). "
                      f"Download it elsewhere and put it at {place} ({checkpoint.expectation()}); "
                      f"then rerun make weights to verify.")


def part_path(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def download(checkpoint: Checkpoint, part: Path) -> tuple:
    """Download checkpoint.url into part; returns (size, sha256). The caller renames or removes part."""
    request = urllib.request.Request(checkpoint.url, headers={"User-Agent": "vlsam-fetch-weights"})
    print(f"weights: downloading {checkpoint.url}", flush=True)
    try:
        with urllib.request.urlopen(request, timeout=NETWORK_TIMEOUT) as response:
            length = response.headers.get("Content-Length")
            return copy_hashing(response, part, checkpoint.filename, int(length) if length else None)
    except urllib.error.HTTPError as error:
        raise download_failure(checkpoint, f"HTTP {error.code} {error.reason}")
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise download_failure(checkpoint, f"no network? {getattr(reason, 'strerror', None) or reason}")
    except http.client.HTTPException as error:
        raise download_failure(checkpoint, f"transfer interrupted: {type(error).__name__}")


def extract(checkpoint: Checkpoint, archive: Path) -> tuple:
    """Unzip checkpoint.filename from archive into weights/ via a .part file; returns (size, sha256)."""
    part = part_path(checkpoint.path)
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = [m for m in bundle.infolist()
                       if Path(m.filename).name == checkpoint.filename and not m.filename.startswith("__MACOSX")]
            if not members:
                raise FetchError(f"{shown(archive)} does not contain {checkpoint.filename}; "
                                 f"delete it and rerun make weights")
            with bundle.open(members[0]) as source:
                result = copy_hashing(source, part, checkpoint.filename, members[0].file_size)
        problem = mismatch(checkpoint, *result)
        if problem:
            raise FetchError(f"{checkpoint.filename} unzipped from {shown(archive)} {problem}; "
                             f"delete the archive and rerun make weights")
        part.replace(checkpoint.path)
        return result
    except zipfile.BadZipFile as error:
        raise FetchError(f"{shown(archive)} is not a valid zip archive ({error}); delete it and rerun make weights")
    finally:
        part.unlink(missing_ok=True)


def fetch(checkpoint: Checkpoint) -> None:
    if checkpoint.path.exists():
        size, sha256 = checkpoint.path.stat().st_size, file_sha256(checkpoint.path)
        problem = mismatch(checkpoint, size, sha256)
        if problem:
            raise FetchError(f"{shown(checkpoint.path)} {problem}; delete it and rerun make weights")
        report_ready(checkpoint, size, sha256, "already present")
        return
    archive = checkpoint.archive_path
    if archive is None:
        part = part_path(checkpoint.path)
        try:
            size, sha256 = download(checkpoint, part)
            problem = mismatch(checkpoint, size, sha256)
            if problem:
                raise FetchError(f"downloaded {checkpoint.filename} {problem}; discarded it. "
                                 f"Check {checkpoint.url} against {shown(MANIFEST)}")
            part.replace(checkpoint.path)
        finally:
            part.unlink(missing_ok=True)
        report_ready(checkpoint, size, sha256, "downloaded")
        return
    if not archive.exists():
        part = part_path(archive)
        try:
            download(checkpoint, part)  # the archive has no known checksum; its content is checked below
            part.replace(archive)
        finally:
            part.unlink(missing_ok=True)
    size, sha256 = extract(checkpoint, archive)
    report_ready(checkpoint, size, sha256, f"unzipped from {shown(archive)}")


def main(arguments: list) -> int:
    requested = [word for argument in arguments for word in argument.replace(",", " ").split()]
    try:
        checkpoints = select(read_manifest(), requested)
        WEIGHTS.mkdir(exist_ok=True)
    except FetchError as error:
        print(f"weights: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"weights: cannot create {shown(WEIGHTS)}: {error.strerror}", file=sys.stderr)
        return 2
    failed = 0
    for checkpoint in checkpoints:
        try:
            fetch(checkpoint)
        except FetchError as error:
            print(f"weights: {error}", file=sys.stderr)
            failed += 1
        except OSError as error:
            print(f"weights: {checkpoint.filename}: {error.strerror or error} "
                  f"({error.filename or shown(WEIGHTS)})", file=sys.stderr)
            failed += 1
    if failed:
        print(f"weights: {failed} of {len(checkpoints)} checkpoints not ready", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("\nweights: interrupted; partial .part files were removed", file=sys.stderr)
        sys.exit(130)
