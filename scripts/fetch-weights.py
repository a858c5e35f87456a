#!/usr/bin/env python3
"""Download the checkpoints listed in scripts/checkpoints.tsv into weights/ and verify them.

Usage: scripts/fetch-weights.py [NAME_OR_FAMILY ...]   (no argument: every checkpoint)

A checkpoint is one or more manifest rows sharing a name (a Hugging Face model folder is one row
per file). Each file is written to a temporary `.part` file and renamed only after its size and
sha256 match the manifest. Files already in weights/ are verified, not downloaded again. When a
download fails and the row names a local fallback copy that matches, that copy is used instead.
Standard library only.
"""

import hashlib
import http.client
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Optional

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "scripts" / "checkpoints.tsv"
WEIGHTS = ROOT / "weights"
COLUMNS = ["name", "file", "url", "size", "sha256", "family", "fallback", "notes"]
UNKNOWN = "unknown"
NO_FALLBACK = "-"
# Seconds to wait for a connection (and for any stalled read): fail fast when offline.
NETWORK_TIMEOUT = 15
CHUNK = 1 << 20


class FetchError(Exception):
    """A one-line, user-facing reason why a file is not ready."""


class DownloadError(Exception):
    """Why a download failed, in a few words; the caller turns it into advice."""


@dataclass(frozen=True)
class WeightFile:
    name: str
    file: str  # path under weights/, with forward slashes
    url: str
    size: Optional[int]
    sha256: Optional[str]
    family: str
    fallback: Optional[str]  # local copy, path from the repository root

    @property
    def path(self) -> Path:
        return WEIGHTS / self.file

    @property
    def fallback_path(self) -> Optional[Path]:
        return ROOT / self.fallback if self.fallback else None

    @property
    def archive_path(self) -> Optional[Path]:
        """Where the downloaded archive goes when upstream ships the file zipped."""
        archive_name = self.url.rsplit("/", 1)[-1]
        return self.path.with_name(archive_name) if archive_name.endswith(".zip") else None

    def expectation(self) -> str:
        if self.size is None and self.sha256 is None:
            return "size and sha256 unknown"
        size = f"{self.size:,} bytes" if self.size is not None else "size unknown"
        sha = f"sha256 {self.sha256}" if self.sha256 else "sha256 unknown"
        return f"{size}, {sha}"


def shown(path: Path) -> str:
    """Path as the user types it from the repository root."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def parse_row(where: str, fields: list) -> WeightFile:
    if len(fields) != len(COLUMNS):
        raise FetchError(f"{where}: expected {len(COLUMNS)} tab-separated columns, found {len(fields)}")
    name, file, url, size, sha256, family, fallback, _notes = fields
    parts = PurePosixPath(file).parts
    if not parts or PurePosixPath(file).is_absolute() or ".." in parts or "\\" in file:
        raise FetchError(f"{where}: file must be a relative path inside weights/, not '{file}'")
    if size != UNKNOWN and not size.isdigit():
        raise FetchError(f"{where}: size must be a byte count or '{UNKNOWN}', not '{size}'")
    if sha256 != UNKNOWN and (len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256)):
        raise FetchError(f"{where}: sha256 must be 64 lowercase hex digits or '{UNKNOWN}'")
    if not fallback:
        raise FetchError(f"{where}: fallback must be a path or '{NO_FALLBACK}', not empty")
    if fallback != NO_FALLBACK and UNKNOWN in (size, sha256):
        raise FetchError(f"{where}: a fallback copy needs a known size and sha256 to be verified")
    return WeightFile(name, file, url, None if size == UNKNOWN else int(size),
                      None if sha256 == UNKNOWN else sha256, family,
                      None if fallback == NO_FALLBACK else fallback)


def read_manifest() -> list:
    try:
        lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise FetchError(f"cannot read {shown(MANIFEST)}: {error.strerror}")
    rows = [(number, line) for number, line in enumerate(lines, 1)
            if line.strip() and not line.startswith("#")]
    if not rows or rows[0][1].split("\t") != COLUMNS:
        raise FetchError(f"{shown(MANIFEST)}: first row must be the header {' '.join(COLUMNS)} (tab-separated)")
    entries = []
    for number, line in rows[1:]:
        where = f"{shown(MANIFEST)}:{number}"
        entry = parse_row(where, line.split("\t"))
        if any(e.file == entry.file for e in entries):
            raise FetchError(f"{where}: file '{entry.file}' is listed twice")
        entries.append(entry)
    return entries


def select(entries: list, requested: list) -> list:
    if not requested:
        return entries
    chosen = []
    for word in requested:
        matches = [e for e in entries if word in (e.name, e.family)]
        if not matches:
            names = ", ".join(dict.fromkeys(e.name for e in entries))
            families = ", ".join(sorted({e.family for e in entries}))
            raise FetchError(f"unknown checkpoint '{word}' (names: {names}; families: {families})")
        chosen += [e for e in matches if e not in chosen]
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


def mismatch(entry: WeightFile, size: int, sha256: str) -> Optional[str]:
    """Why (size, sha256) is not the manifest's file, or None when it matches what is known."""
    if entry.size is not None and size != entry.size:
        return f"is {size:,} bytes, expected {entry.size:,}"
    if entry.sha256 is not None and sha256 != entry.sha256:
        return f"has sha256 {sha256}, expected {entry.sha256}"
    return None


def report_ready(entry: WeightFile, size: int, sha256: str, how: str) -> None:
    if entry.size is not None and entry.sha256 is not None:
        print(f"weights: {entry.file} {how}, verified ({size:,} bytes, sha256 {sha256})", flush=True)
        return
    print(f"weights: WARNING {entry.file} {how} but NOT verified: no published size/sha256 "
          f"is known (this copy: {size:,} bytes, sha256 {sha256}). Record them in "
          f"{shown(MANIFEST)} once confirmed against the upstream file.", flush=True)


def download_failure(entry: WeightFile, reason: str) -> FetchError:
    place = shown(entry.path)
    if entry.archive_path is not None:
        place = f"{shown(entry.archive_path)} or, unzipped, at {place}"
    return FetchError(f"could not download {entry.file} from {entry.url} ({reason}). "
                      f"Download it elsewhere and put it at {place} ({entry.expectation()}); "
                      f"then rerun make weights to verify.")


def part_path(path: Path) -> Path:
    return path.with_name(path.name + ".part")


class Downloader:
    """Streams urls into files; once a host is unreachable, later files from it fail at once."""

    def __init__(self) -> None:
        self.unreachable: dict = {}  # host -> reason

    def fetch(self, entry: WeightFile, part: Path) -> tuple:
        """Download entry.url into part; returns (size, sha256). The caller renames or removes part."""
        host = urllib.parse.urlsplit(entry.url).netloc
        if host in self.unreachable:
            raise DownloadError(f"not tried, {host} already failed: {self.unreachable[host]}")
        request = urllib.request.Request(entry.url, headers={"User-Agent": "vlsam-fetch-weights"})
        print(f"weights: downloading {entry.url}", flush=True)
        try:
            response = urllib.request.urlopen(request, timeout=NETWORK_TIMEOUT)
        except urllib.error.HTTPError as error:
            raise DownloadError(f"HTTP {error.code} {error.reason}")
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            self.unreachable[host] = f"no network? {getattr(reason, 'strerror', None) or reason}"
            raise DownloadError(self.unreachable[host])
        except http.client.HTTPException as error:
            raise DownloadError(f"bad HTTP response: {type(error).__name__}")
        length = response.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        try:
            with response:
                size, sha256 = copy_hashing(response, part, entry.file, expected)
        except (TimeoutError, ConnectionError, http.client.HTTPException) as error:
            raise DownloadError(f"transfer interrupted: {getattr(error, 'strerror', None) or type(error).__name__}")
        if expected is not None and size != expected:
            raise DownloadError(f"transfer interrupted after {size:,} of {expected:,} bytes")
        return size, sha256


def extract(entry: WeightFile, archive: Path) -> tuple:
    """Unzip entry's file from archive next to it via a .part file; returns (size, sha256)."""
    part = part_path(entry.path)
    member_name = entry.path.name
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = [m for m in bundle.infolist()
                       if Path(m.filename).name == member_name and not m.filename.startswith("__MACOSX")]
            if not members:
                raise FetchError(f"{shown(archive)} does not contain {member_name}; "
                                 f"delete it and rerun make weights")
            with bundle.open(members[0]) as source:
                result = copy_hashing(source, part, entry.file, members[0].file_size)
        problem = mismatch(entry, *result)
        if problem:
            raise FetchError(f"{entry.file} unzipped from {shown(archive)} {problem}; "
                             f"delete the archive and rerun make weights")
        part.replace(entry.path)
        return result
    except zipfile.BadZipFile as error:
        raise FetchError(f"{shown(archive)} is not a valid zip archive ({error}); delete it and rerun make weights")
    finally:
        part.unlink(missing_ok=True)


def copy_local(entry: WeightFile, source: Path, part: Path) -> tuple:
    """Copy source into part and return (size, sha256); the caller verifies, renames or removes part."""
    with open(source, "rb") as handle:
        return copy_hashing(handle, part, entry.file, None)


def fetch_plain(entry: WeightFile, downloader: Downloader) -> None:
    """Download a file that upstream ships as is, falling back to its local copy when that fails."""
    part = part_path(entry.path)
    try:
        try:
            size, sha256 = downloader.fetch(entry, part)
            how = "downloaded"
            problem = mismatch(entry, size, sha256)
            if problem:
                raise FetchError(f"downloaded {entry.file} {problem}; discarded it. "
                                 f"Check {entry.url} against {shown(MANIFEST)}")
        except DownloadError as failure:
            fallback = entry.fallback_path
            if fallback is None:
                raise download_failure(entry, str(failure))
            if not fallback.is_file():
                raise download_failure(entry, f"{failure}; no local copy at {shown(fallback)}")
            size, sha256 = copy_local(entry, fallback, part)
            problem = mismatch(entry, size, sha256)
            if problem:
                raise download_failure(entry, f"{failure}; the local copy {shown(fallback)} {problem}")
            how = f"copied from {shown(fallback)} (download failed: {failure})"
        part.replace(entry.path)
    finally:
        part.unlink(missing_ok=True)
    report_ready(entry, size, sha256, how)


def fetch(entry: WeightFile, downloader: Downloader) -> None:
    if entry.path.exists():
        size, sha256 = entry.path.stat().st_size, file_sha256(entry.path)
        problem = mismatch(entry, size, sha256)
        if problem:
            raise FetchError(f"{shown(entry.path)} {problem}; delete it and rerun make weights")
        report_ready(entry, size, sha256, "already present")
        return
    entry.path.parent.mkdir(parents=True, exist_ok=True)
    archive = entry.archive_path
    if archive is None:
        fetch_plain(entry, downloader)
        return
    if not archive.exists():
        part = part_path(archive)
        try:
            downloader.fetch(entry, part)  # the archive has no known checksum; its content is checked below
            part.replace(archive)
        except DownloadError as failure:
            raise download_failure(entry, str(failure))
        finally:
            part.unlink(missing_ok=True)
    size, sha256 = extract(entry, archive)
    report_ready(entry, size, sha256, f"unzipped from {shown(archive)}")


def main(arguments: list) -> int:
    requested = [word for argument in arguments for word in argument.replace(",", " ").split()]
    try:
        entries = select(read_manifest(), requested)
    except FetchError as error:
        print(f"weights: {error}", file=sys.stderr)
        return 2
    downloader = Downloader()
    failed = 0
    for entry in entries:
        try:
            fetch(entry, downloader)
        except FetchError as error:
            print(f"weights: {error}", file=sys.stderr)
            failed += 1
        except OSError as error:
            print(f"weights: {entry.file}: {error.strerror or error} "
                  f"({error.filename or shown(entry.path.parent)})", file=sys.stderr)
            failed += 1
    if failed:
        print(f"weights: {failed} of {len(entries)} files not ready", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("\nweights: interrupted; partial .part files were removed", file=sys.stderr)
        sys.exit(130)
