"""Model files: format detection, integrity checks, hashing copies and .argosmodel unpacking.

Every function works on paths it is given; the store decides where they are.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zipfile
from pathlib import Path
from typing import IO, Any, Callable, Sequence

from runtime.errors import InstallError, IntegrityError

CHUNK = 1 << 20
Progress = Callable[[str, int, int], None]

# -- checks ----------------------------------------------------------------------------------------


def check_model(
    model_id: str,
    fmt: str,
    where: Path,
    size: int,
    sha: str | None,
    want_size: int | None,
    want_sha: str | None,
    fix: str,
) -> None:
    """Raise a one-line IntegrityError if the main file's size, format or hash is wrong."""
    if want_size is not None and size != want_size:
        what = "truncated" if size < want_size else "the wrong size"
        expected, found = human_size(want_size), human_size(size)
        raise IntegrityError(f"model {model_id} is {what}: expected {expected}, found {found}", fix)
    if fmt == "gguf":
        with open(where, "rb") as f:
            if f.read(4) != b"GGUF":
                raise IntegrityError(f"model {model_id} is not a GGUF file: {where.name} has no header", fix)
            try:
                end = gguf_end(f)
            except (EOFError, struct.error):
                msg = f"model {model_id} is truncated: its GGUF header is cut short"
                raise IntegrityError(msg, fix) from None
        if end is not None and end > size:
            raise IntegrityError(
                f"model {model_id} is truncated: expected {human_size(end)}, found {human_size(size)}", fix
            )
    elif fmt == "onnx":
        with open(where, "rb") as f:
            head = f.read(1)
        # ONNX is a protobuf ModelProto: the first byte is a field tag (field 1-20, a valid wire type).
        if not head or not (1 <= head[0] >> 3 <= 20 and head[0] & 7 in (0, 1, 2, 5)):
            raise IntegrityError(f"model {model_id} is not an ONNX file: {where.name}", fix)
    elif fmt == "ctranslate2":
        for name in ("model.bin", "config.json"):
            if not (where / name).is_file():
                raise IntegrityError(f"model {model_id} is not a CTranslate2 folder: {name} is missing", fix)
        try:
            json.loads((where / "config.json").read_text(encoding="utf-8"))
        except (ValueError, OSError):
            raise IntegrityError(f"model {model_id} has an unreadable config.json", fix) from None
    if want_sha is not None and sha != want_sha:
        raise IntegrityError(
            f"model {model_id} is corrupted: expected sha256 {want_sha[:12]}…, found {str(sha)[:12]}…",
            fix,
        )


# ggml tensor type -> (bytes per block, elements per block)
_GGML = {
    0: (4, 1),
    1: (2, 1),
    2: (18, 32),
    3: (20, 32),
    6: (22, 32),
    7: (24, 32),
    8: (34, 32),
    9: (36, 32),
    10: (84, 256),
    11: (110, 256),
    12: (144, 256),
    13: (176, 256),
    14: (210, 256),
    15: (292, 256),
    16: (66, 256),
    17: (74, 256),
    18: (98, 256),
    19: (50, 256),
    20: (18, 32),
    21: (110, 256),
    22: (82, 256),
    23: (136, 256),
    24: (1, 1),
    25: (2, 1),
    26: (4, 1),
    27: (8, 1),
    28: (8, 1),
    29: (56, 256),
    30: (2, 1),
    34: (54, 256),
    35: (66, 256),
    39: (17, 32),
}
_GGUF_SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def gguf_end(f: IO[bytes]) -> int | None:
    """Return the file length a GGUF v2/v3 header promises, or None if the header is not one we read."""

    def read(fmt: str) -> Any:
        n = struct.calcsize(fmt)
        data = f.read(n)
        if len(data) < n:
            raise EOFError
        return struct.unpack("<" + fmt, data)[0]

    def skip(n: int) -> None:
        if len(f.read(n)) < n:
            raise EOFError

    def skip_value(vtype: int) -> None:
        if vtype in _GGUF_SCALAR:
            skip(_GGUF_SCALAR[vtype])
        elif vtype == 8:
            skip(read("Q"))
        elif vtype == 9:
            etype, count = read("I"), read("Q")
            if etype in _GGUF_SCALAR:
                skip(_GGUF_SCALAR[etype] * count)
            else:
                for _ in range(count):
                    skip_value(etype)
        else:
            raise ValueError(vtype)

    if read("I") not in (2, 3):
        return None
    n_tensors, n_kv = read("Q"), read("Q")
    if n_tensors > 1_000_000 or n_kv > 1_000_000:
        return None
    align = 32
    try:
        for _ in range(n_kv):
            key_len = read("Q")
            if key_len > 65536:
                return None
            key = f.read(key_len)
            vtype = read("I")
            if key == b"general.alignment" and vtype == 4:
                align = read("I") or 32
            else:
                skip_value(vtype)
        end = 0
        for _ in range(n_tensors):
            skip(read("Q"))
            dims = [read("Q") for _ in range(read("I"))]
            ttype, offset = read("I"), read("Q")
            if ttype not in _GGML:
                return None
            nbytes, per = _GGML[ttype]
            count = 1
            for d in dims:
                count *= d
            end = max(end, offset + count // per * nbytes)
    except (ValueError, OverflowError, MemoryError):
        return None
    start = -(-f.tell() // align) * align
    return start + end


def human_size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


# -- file helpers ----------------------------------------------------------------------------------


def copy_hashed(
    sources: Sequence[Path], dest: Path, progress: Progress | None, stage: str, total: int
) -> tuple[str, int]:
    """Concatenate `sources` into `dest` in one pass, returning (sha256, size)."""
    digest = hashlib.sha256()
    done = 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "wb") as out:
        for src in sources:
            with open(src, "rb") as f:
                while block := f.read(CHUNK):
                    out.write(block)
                    digest.update(block)
                    done += len(block)
                    if progress is not None:
                        progress(stage, done, total)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest(), done


def hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def hash_tree(folder: Path) -> tuple[str, int]:
    """Return (sha256, total bytes) of every file under folder, for models used in place.

    The digest is the sha256 of the sorted lines "RELATIVE/PATH<NUL>FILE_SHA256<LF>", so it changes
    when any file is changed, added, removed or renamed.
    """
    lines: list[str] = []
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(dirpath) / name
            sha, size = hash_file(path)
            total += size
            lines.append(f"{path.relative_to(folder).as_posix()}\0{sha}\n")
    return hashlib.sha256("".join(sorted(lines)).encode()).hexdigest(), total


def copy_tree(src: Path, dest: Path, progress: Progress | None) -> tuple[str, int]:
    """Copy a folder, hashing its top-level model.bin; return (sha256, size) of model.bin."""
    result = ("", 0)
    for dirpath, _dirs, files in os.walk(src):
        for name in files:
            path = Path(dirpath) / name
            target = dest / path.relative_to(src)
            main = path == src / "model.bin"
            got = copy_hashed([path], target, progress if main else None, "copy", path.stat().st_size)
            if main:
                result = got
    return result


def extract_argos(
    src: Path, dest: Path, model_id: str, fix: str
) -> tuple[str, int, tuple[str, ...], tuple[str, ...]]:
    """Unpack an .argosmodel flat into `dest` (model/ contents at the top); return sha, size, langs, dirs."""
    try:
        with zipfile.ZipFile(src) as z:
            metas = sorted((n for n in z.namelist() if n.rsplit("/", 1)[-1] == "metadata.json"), key=len)
            if not metas:
                raise IntegrityError(f"model {model_id}: {src.name} has no metadata.json", fix)
            top = metas[0][: -len("metadata.json")]
            meta = json.loads(z.read(metas[0]))
            sha, size = "", 0
            for info in z.infolist():
                if info.is_dir() or not info.filename.startswith(top):
                    continue
                rel = info.filename[len(top) :]
                rel = rel[len("model/") :] if rel.startswith("model/") else rel
                parts = rel.split("/")
                if rel.startswith("/") or "\\" in rel or any(p in ("", ".", "..") for p in parts):
                    msg = f"model {model_id}: {src.name} holds an unsafe path {info.filename!r}"
                    raise IntegrityError(msg, fix)
                target = dest.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                n = 0
                with z.open(info) as f, open(target, "wb") as out:
                    while block := f.read(CHUNK):
                        out.write(block)
                        digest.update(block)
                        n += len(block)
                if rel == "model.bin":
                    sha, size = digest.hexdigest(), n
    except (zipfile.BadZipFile, ValueError, KeyError) as e:
        raise IntegrityError(f"model {model_id}: {src.name} is not a valid .argosmodel ({e})", fix) from None
    src_lang, dst_lang = str(meta.get("from_code", "")), str(meta.get("to_code", ""))
    langs = tuple(x for x in (src_lang, dst_lang) if x)
    return sha, size, langs, ((f"{src_lang}-{dst_lang}",) if len(langs) == 2 else ())


def detect_format(path: Path) -> str:
    if path.is_dir():
        return "ctranslate2"
    suffix = path.suffix.lower()
    if suffix == ".argosmodel":
        return "ctranslate2"
    if suffix in (".gguf", ".onnx"):
        return suffix[1:]
    with open(path, "rb") as f:
        if f.read(4) == b"GGUF":
            return "gguf"
    raise InstallError(f"cannot tell the format of {path.name}", "pass format=gguf, onnx or ctranslate2")


def ct2_roles(folder: Path) -> tuple[str, ...]:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ("translate",)
    whisper = isinstance(config, dict) and ("alignment_heads" in config or "lang_ids" in config)
    return ("stt",) if whisper else ("translate",)


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
