"""The model catalog: one TOML manifest per model in the `models` package, read into typed records.

A manifest names the model, its format and roles, the size and sha256 of its main file, and where
the bytes come from: installed PyPI packages (parts joined in order, plus extra files), files carried
in the catalog folder itself, or public URLs for machines with internet.
"""

from __future__ import annotations

import importlib.resources
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from runtime.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - py3.10 has no tomllib; tomli is the same parser
    import tomli as tomllib

FORMATS = ("gguf", "ctranslate2", "onnx", "bergamot")
ROLES = ("chat", "autocomplete", "code", "fim", "stt", "translate", "embed", "tts")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
_TOP_KEYS = {
    "id",
    "name",
    "description",
    "format",
    "roles",
    "quantization",
    "size",
    "sha256",
    "license",
    "context_length",
    "languages",
    "directions",
    "file",
    "extra_sha256",
    "sources",
}
_SOURCE_KEYS = {"package", "urls", "url_extra_files", "extra_files"}
_PACKAGE_KEYS = {"name", "version", "parts", "extra_files", "in_place"}


@dataclass(frozen=True)
class PackageSource:
    """One installed PyPI distribution that holds (part of) a model."""

    name: str
    """Distribution name, as pip knows it."""
    version: str
    """The version the manifest's sizes and hashes were taken from."""
    parts: tuple[str, ...] = ()
    """Paths inside the distribution, joined in this order (after earlier packages' parts)."""
    extra_files: tuple[tuple[str, str], ...] = ()
    """(path inside the distribution, name in the installed model folder) pairs."""
    in_place: str | None = None
    """A folder inside the distribution that is used where it lies, with no copy (bergamot)."""


@dataclass(frozen=True)
class Sources:
    """Where a model's bytes come from, in order of preference: packages, then URLs."""

    packages: tuple[PackageSource, ...] = ()
    urls: tuple[str, ...] = ()
    """Mirrors of the main file, tried in order."""
    url_extra_files: tuple[tuple[str, str], ...] = ()
    """(name in the installed folder, URL) pairs fetched next to the main file on a URL install."""
    extra_files: tuple[tuple[str, Path], ...] = ()
    """(name in the installed folder, absolute path) of small files carried in the catalog folder."""


@dataclass(frozen=True)
class Manifest:
    """One catalog entry, validated."""

    id: str
    name: str
    description: str
    format: str
    """One of FORMATS."""
    roles: tuple[str, ...]
    """A subset of ROLES."""
    license: str
    file: str | None
    """Name of the main file inside the installed model folder; None for in-place models."""
    size: int | None
    """Bytes of the main file after joining; None only for in-place models."""
    sha256: str | None
    """Lower-case hex sha256 of the main file after joining; None only for in-place models."""
    sources: Sources
    quantization: str | None = None
    context_length: int | None = None
    languages: tuple[str, ...] = ()
    directions: tuple[str, ...] = ()
    """Translation directions such as "en-pt"."""
    manifest_path: Path | None = field(default=None, compare=False)
    extra_sha256: tuple[tuple[str, str], ...] = ()
    """(name in the installed folder, sha256) of companion files pinned like the main file (a Piper
    voice's .onnx.json); the store checks them on install and verify."""

    @property
    def in_place(self) -> PackageSource | None:
        """Return the package source used in place, if this model is not copied into the store."""
        return next((p for p in self.sources.packages if p.in_place), None)


def default_catalog_dir() -> Path:
    """Return the shipped catalog: the `models` package's folder, found with importlib.resources."""
    # The models package is data only (manifests and the files they carry); it is located, not imported
    # for code, so the runtime layer does not depend on it.
    root = importlib.resources.files("models")
    if not isinstance(root, Path):  # e.g. a zipped install: manifests carry files copied by path
        raise ConfigError(f"the model catalog {root} is not a folder", "install assistant-runtime with pip")
    return root


def load_catalog(path: Path | None = None) -> dict[str, Manifest]:
    """Read and validate every `*.toml` manifest in `path` (default: the shipped catalog), keyed by id."""
    folder = Path(path) if path is not None else default_catalog_dir()
    if not folder.is_dir():
        raise ConfigError(f"model catalog folder {folder} does not exist", "reinstall assistant-runtime")
    out: dict[str, Manifest] = {}
    for file in sorted(folder.glob("*.toml")):
        manifest = load_manifest(file)
        if manifest.id in out:
            other = out[manifest.id].manifest_path
            raise ConfigError(f"{file}: id {manifest.id!r} is also in {other}", "give each model its own id")
        out[manifest.id] = manifest
    return out


def load_manifest(file: Path) -> Manifest:
    """Read one manifest file; ConfigError names the file and the field on any problem."""
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{file}: cannot read manifest: {e}", "check it exists and is UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{file}: not valid TOML: {e}", "fix the TOML syntax") from None
    return parse_manifest(data, file)


def parse_manifest(data: dict[str, Any], file: Path) -> Manifest:
    """Validate a decoded manifest; `file` names it in errors and anchors carried extra files."""
    v = _Validator(file)
    v.no_unknown(data, _TOP_KEYS, "")
    mid = v.string(data, "id")
    if not ID_RE.fullmatch(mid) or ".." in mid:
        v.fail("id", f"{mid!r} is not a valid model id", "use lower-case letters, digits, '.', '_' and '-'")
    if mid != file.stem:
        v.fail("id", f"{mid!r} does not match the file name {file.name}", f"rename the file to {mid}.toml")
    fmt = v.string(data, "format")
    if fmt not in FORMATS:
        v.fail("format", f"{fmt!r} is not a known format", f"use one of {', '.join(FORMATS)}")
    roles = v.str_list(data, "roles")
    if not roles:
        v.fail("roles", "is empty", f"list at least one of {', '.join(ROLES)}")
    for r in roles:
        if r not in ROLES:
            v.fail("roles", f"{r!r} is not a known role", f"use some of {', '.join(ROLES)}")
    sources = _parse_sources(v, data.get("sources"))
    in_place = any(p.in_place for p in sources.packages)
    file_name = v.opt_string(data, "file")
    size = v.opt_int(data, "size")
    sha = v.opt_string(data, "sha256")
    if not in_place:
        if file_name is None:
            v.fail("file", "is missing", 'name the main file, e.g. file = "model.gguf"')
        if size is None:
            v.fail("size", "is missing", "give the main file's size in bytes")
        if sha is None:
            v.fail("sha256", "is missing", "give the main file's sha256")
        if not sources.packages and not sources.urls:
            v.fail("sources", "names no package and no URL", "add [[sources.package]] or sources.urls")
    if file_name is not None and not _NAME_RE.fullmatch(file_name):
        v.fail("file", f"{file_name!r} is not a plain file name", "use a name with no folders")
    if size is not None and size <= 0:
        v.fail("size", f"{size} is not a positive byte count", "give the main file's size in bytes")
    if sha is not None and not _SHA_RE.fullmatch(sha):
        v.fail("sha256", f"{sha!r} is not 64 lower-case hex digits", "paste the output of sha256sum")
    ctx = v.opt_int(data, "context_length")
    if fmt == "gguf" and ctx is None:
        v.fail("context_length", "is missing for a gguf model", "give the trained context length in tokens")
    directions = v.str_list(data, "directions") if "directions" in data else []
    for d in directions:
        if not re.fullmatch(r"[a-z]{2,3}-[a-z]{2,3}", d):
            v.fail("directions", f"{d!r} is not a direction", 'write directions as "en-pt"')
    extra_sha = v.str_map(data, "extra_sha256", "")
    for name, digest in extra_sha:
        v.dest_name(name, "extra_sha256")
        if not _SHA_RE.fullmatch(digest):
            v.fail(
                "extra_sha256", f"{digest!r} is not 64 lower-case hex digits", "paste the output of sha256sum"
            )
    return Manifest(
        id=mid,
        name=v.string(data, "name"),
        description=v.opt_string(data, "description") or "",
        format=fmt,
        roles=tuple(roles),
        license=v.string(data, "license"),
        file=file_name,
        size=size,
        sha256=sha,
        sources=sources,
        quantization=v.opt_string(data, "quantization"),
        context_length=ctx,
        languages=tuple(v.str_list(data, "languages")) if "languages" in data else (),
        directions=tuple(directions),
        manifest_path=file,
        extra_sha256=tuple(extra_sha),
    )


def _parse_sources(v: _Validator, raw: object) -> Sources:
    if raw is None:
        return Sources()
    if not isinstance(raw, dict):
        v.fail("sources", "is not a table", "write [sources] / [[sources.package]]")
    v.no_unknown(raw, _SOURCE_KEYS, "sources.")
    packages = []
    pkgs = raw.get("package", [])
    if not isinstance(pkgs, list):
        v.fail("sources.package", "is not an array of tables", "write each entry as [[sources.package]]")
    for i, p in enumerate(pkgs):
        where = f"sources.package[{i}]"
        if not isinstance(p, dict):
            v.fail(where, "is not a table", "write each entry as [[sources.package]]")
        v.no_unknown(p, _PACKAGE_KEYS, where + ".")
        parts = v.str_list(p, "parts", where) if "parts" in p else []
        for part in parts:
            v.relpath(part, f"{where}.parts")
        extras = v.str_map(p, "extra_files", where)
        for src, dest in extras:
            v.relpath(src, f"{where}.extra_files")
            v.dest_name(dest, f"{where}.extra_files")
        in_place = v.opt_string(p, "in_place", where)
        if in_place is not None:
            v.relpath(in_place, f"{where}.in_place")
        packages.append(
            PackageSource(
                name=v.string(p, "name", where),
                version=v.string(p, "version", where),
                parts=tuple(parts),
                extra_files=tuple(extras),
                in_place=in_place,
            )
        )
    urls = v.str_list(raw, "urls", "sources") if "urls" in raw else []
    for u in urls:
        if not u.startswith(("https://", "http://")):
            v.fail("sources.urls", f"{u!r} is not an http(s) URL", "use full https:// URLs")
    url_extras = v.str_map(raw, "url_extra_files", "sources")
    for dest, u in url_extras:
        v.dest_name(dest, "sources.url_extra_files")
        if not u.startswith(("https://", "http://")):
            v.fail("sources.url_extra_files", f"{u!r} is not an http(s) URL", "use full https:// URLs")
    carried = []
    for src, dest in v.str_map(raw, "extra_files", "sources"):
        v.relpath(src, "sources.extra_files")
        v.dest_name(dest, "sources.extra_files")
        full = v.file.parent / src
        if not full.is_file():
            v.fail("sources.extra_files", f"{src!r} is not a file in the catalog folder", "add the file")
        carried.append((dest, full))
    return Sources(tuple(packages), tuple(urls), tuple(url_extras), tuple(carried))


class _Validator:
    """Field readers that raise ConfigError naming the manifest file and field."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def fail(self, fld: str, problem: str, fix: str) -> NoReturn:
        raise ConfigError(f"{self.file}: field {fld!r} {problem}", fix)

    def no_unknown(self, table: dict[str, Any], allowed: set[str], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                self.fail(prefix + key, "is not a known field", f"use only {', '.join(sorted(allowed))}")

    def string(self, table: dict[str, Any], key: str, where: str = "") -> str:
        value = self.opt_string(table, key, where)
        if value is None:
            self.fail(_at(where, key), "is missing", "add it")
        return value

    def opt_string(self, table: dict[str, Any], key: str, where: str = "") -> str | None:
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            self.fail(_at(where, key), "is not a non-empty string", "quote the value")
        return value

    def opt_int(self, table: dict[str, Any], key: str) -> int | None:
        value = table.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            self.fail(key, f"{value!r} is not an integer", "write a whole number without quotes")
        return value

    def str_list(self, table: dict[str, Any], key: str, where: str = "") -> list[str]:
        value = table.get(key)
        if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
            self.fail(_at(where, key), "is not a list of strings", 'write it as ["a", "b"]')
        return value

    def str_map(self, table: dict[str, Any], key: str, where: str) -> list[tuple[str, str]]:
        value = table.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(x, str) and x for x in value.values()):
            self.fail(_at(where, key), "is not a table of strings", 'write it as { "a" = "b" }')
        return list(value.items())

    def relpath(self, value: str, fld: str) -> None:
        parts = value.split("/")
        if value.startswith("/") or "\\" in value or any(p in ("", ".", "..") for p in parts):
            self.fail(fld, f"{value!r} is not a plain relative path", "use a/b/c with no '..'")

    def dest_name(self, value: str, fld: str) -> None:
        if not _NAME_RE.fullmatch(value):
            self.fail(fld, f"{value!r} is not a plain file name", "use a name with no folders")


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
