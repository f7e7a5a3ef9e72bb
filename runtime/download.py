"""Fetch one URL to a file, resuming a `.part` file left by an earlier attempt."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from runtime.errors import InstallError, IntegrityError

if TYPE_CHECKING:
    import httpx

CHUNK = 1 << 20
Progress = Callable[[str, int, int], None]
_RETRY_FIX = "check the network connection and run the command again; it resumes where it stopped"


def download(
    url: str,
    dest: Path,
    expected_sha256: str | None = None,
    expected_size: int | None = None,
    progress: Progress | None = None,
    timeout: float = 30,
    *,
    client: httpx.Client | None = None,
) -> str:
    """Download `url` to `dest` and return the file's sha256 (hex).

    Bytes go to `dest.part` first. If one is there from an interrupted attempt, it is hashed and the
    request asks for the rest with `Range: bytes=N-`; a server that answers 200 instead of 206 gets a
    fresh start. `dest` appears only when the whole file arrived and matched the expected size and
    hash. A failed transfer keeps `dest.part` so the next call resumes; a wrong hash deletes it.
    `progress(stage, done, total)` is called with stage "download" (total is 0 when unknown).
    """
    import httpx

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    digest, have = _hash_existing(part)
    if expected_size is not None and have > expected_size:
        digest, have = hashlib.sha256(), 0
        part.unlink()
    own = client is None
    http = httpx.Client(timeout=timeout, follow_redirects=True) if client is None else client
    try:
        if expected_size is None or have < expected_size:
            digest, have = _fetch(http, url, part, digest, have, expected_size, progress)
    except httpx.HTTPError as e:
        msg = f"download of {url} failed after {have} bytes: {_describe(e)}"
        raise InstallError(msg, _RETRY_FIX) from None
    finally:
        if own:
            http.close()
    if expected_size is not None and have != expected_size:
        if have > expected_size:
            part.unlink(missing_ok=True)
        raise InstallError(f"download of {url} stopped at {have} bytes, expected {expected_size}", _RETRY_FIX)
    found = digest.hexdigest()
    if expected_sha256 is not None and found != expected_sha256.lower():
        part.unlink(missing_ok=True)
        raise IntegrityError(
            f"download of {url} is corrupted: expected sha256 {expected_sha256}, found {found}",
            "run the command again; if it repeats, the file at that URL has changed",
        )
    os.replace(part, dest)
    return found


def _fetch(
    http: httpx.Client,
    url: str,
    part: Path,
    digest: hashlib._Hash,
    have: int,
    expected_size: int | None,
    progress: Progress | None,
) -> tuple[hashlib._Hash, int]:
    headers = {"Range": f"bytes={have}-"} if have else {}
    with http.stream("GET", url, headers=headers) as resp:
        if have and (resp.status_code == 416 or resp.status_code == 206 and _range_start(resp) != have):
            # Our part does not fit the remote file any more (it changed): start over.
            part.unlink(missing_ok=True)
            resp.close()
            return _fetch(http, url, part, hashlib.sha256(), 0, expected_size, progress)
        if resp.status_code == 206 and have:
            mode = "ab"
        elif resp.status_code == 200 or resp.status_code == 206 and not have:
            digest, have, mode = hashlib.sha256(), 0, "wb"
        else:
            raise InstallError(
                f"download of {url} failed: HTTP {resp.status_code} {resp.reason_phrase}",
                "check the URL; for 401/403 the file needs a login, for 404 it moved",
            )
        length = resp.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else (expected_size or 0)
        with open(part, mode) as out:
            try:
                # No chunk_size: httpx would buffer up to it and lose those bytes when the connection drops.
                for chunk in resp.iter_bytes():
                    out.write(chunk)
                    digest.update(chunk)
                    have += len(chunk)
                    if progress is not None:
                        progress("download", have, total)
            finally:
                out.flush()
                os.fsync(out.fileno())
    return digest, have


def _hash_existing(part: Path) -> tuple[hashlib._Hash, int]:
    digest = hashlib.sha256()
    have = 0
    try:
        with open(part, "rb") as f:
            while block := f.read(CHUNK):
                digest.update(block)
                have += len(block)
    except FileNotFoundError:
        pass
    return digest, have


def _range_start(resp: httpx.Response) -> int | None:
    # Content-Range: bytes 100-199/200
    value = resp.headers.get("Content-Range", "")
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _describe(e: Exception) -> str:
    text = str(e) or type(e).__name__
    return text.splitlines()[0]
