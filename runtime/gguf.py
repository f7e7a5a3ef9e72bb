"""A GGUF file's metadata read from its header alone (no weights loaded): the key/value pairs, such as
`general.architecture` and `tokenizer.chat_template`, and the parameter count summed over its tensors.

The layout (GGUF v2/v3, little-endian): magic "GGUF", version u32, tensor count u64, key/value count
u64; then each pair as a string key, a u32 value type and the value; then each tensor's name, dims and
type. Strings are a u64 length and UTF-8 bytes; arrays an element type, a u64 count and the elements.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Collection, Literal

# value type -> struct format of a scalar (8 is a string, 9 an array)
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9
_LIMIT = 1 << 24  # no real header has more keys, tensors or dims than this: a corrupt count


class GGUFError(ValueError):
    """The file is not a GGUF v2/v3 header this reader understands (or it is cut short)."""


@dataclass(frozen=True)
class GGUFInfo:
    """What a GGUF header says about its model."""

    metadata: dict[str, Any]
    """Every key/value pair; arrays are read only for the keys asked for, the others are []."""
    parameter_count: int
    """Elements over all tensors (what Ollama shows as the parameter size)."""
    tensor_count: int
    array_lengths: dict[str, int] = field(default_factory=dict)
    """The length of every array, read or not."""


class _Reader:
    def __init__(self, buf: mmap.mmap) -> None:
        self.buf, self.at = buf, 0

    def scalar(self, fmt: str) -> Any:
        try:
            (value,) = struct.unpack_from("<" + fmt, self.buf, self.at)
        except struct.error:
            raise GGUFError("the GGUF header is cut short") from None
        self.at += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        n = self.scalar("Q")
        if self.at + n > len(self.buf):
            raise GGUFError("the GGUF header is cut short")
        text = self.buf[self.at : self.at + n].decode("utf-8", errors="replace")
        self.at += n
        return text

    def strings(self, count: int) -> list[str]:
        # a tight loop: token lists hold 150k strings
        buf, at, out, unpack = self.buf, self.at, [], struct.Struct("<Q").unpack_from
        try:
            for _ in range(count):
                (n,) = unpack(buf, at)
                out.append(buf[at + 8 : at + 8 + n].decode("utf-8", errors="replace"))
                at += 8 + n
        except struct.error:
            raise GGUFError("the GGUF header is cut short") from None
        self.at = at
        return out

    def skip_strings(self, count: int) -> None:
        for _ in range(count):
            n = self.scalar("Q")  # not `self.at += self.scalar(...)`: that adds to the old offset
            self.at += n

    def value(self, vtype: int, keep_array: bool) -> tuple[Any, int | None]:
        """Return (value, array length or None)."""
        if vtype in _SCALARS:
            return self.scalar(_SCALARS[vtype]), None
        if vtype == _STRING:
            return self.string(), None
        if vtype != _ARRAY:
            raise GGUFError(f"unknown GGUF value type {vtype}")
        etype, count = self.scalar("I"), self.scalar("Q")
        if count > self.buf.size():
            raise GGUFError("a GGUF array is longer than the file")
        if keep_array and etype == _STRING:
            return self.strings(count), count
        if keep_array:
            return [self.value(etype, True)[0] for _ in range(count)], count
        if etype in _SCALARS:
            self.at += struct.calcsize(_SCALARS[etype]) * count
        elif etype == _STRING:
            self.skip_strings(count)
        else:
            for _ in range(count):
                self.value(etype, False)
        return [], count


def read_gguf(path: Path, arrays: Collection[str] | Literal["all"] = ()) -> GGUFInfo:
    """Return the metadata of the GGUF file at path, reading the arrays named in `arrays` ("all":
    every one; token lists are large); GGUFError when it is not a GGUF v2/v3 file."""
    if path.stat().st_size < 24:  # shorter than the fixed part (and mmap refuses an empty file)
        raise GGUFError(f"{path.name} is not a GGUF file (it is cut short)")
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        r = _Reader(buf)
        if buf[:4] != b"GGUF":
            raise GGUFError(f"{path.name} is not a GGUF file")
        r.at = 4
        if r.scalar("I") not in (2, 3):
            raise GGUFError(f"{path.name} is a GGUF version this reader does not know")
        n_tensors, n_kv = r.scalar("Q"), r.scalar("Q")
        if n_tensors > _LIMIT or n_kv > _LIMIT:
            raise GGUFError(f"{path.name} has a corrupt GGUF header")
        meta: dict[str, Any] = {}
        lengths: dict[str, int] = {}
        for _ in range(n_kv):
            key = r.string()
            value, length = r.value(r.scalar("I"), arrays == "all" or key in arrays)
            meta[key] = value
            if length is not None:
                lengths[key] = length
        params = 0
        for _ in range(n_tensors):
            r.string()
            n_dims = r.scalar("I")
            if n_dims > 8:
                raise GGUFError(f"{path.name} has a corrupt GGUF tensor")
            count = 1
            for _ in range(n_dims):
                count *= r.scalar("Q")
            r.scalar("I")  # type
            r.scalar("Q")  # offset
            params += count
    return GGUFInfo(meta, params, n_tensors, lengths)


@lru_cache(maxsize=64)
def _cached(path: Path, size: int, mtime_ns: int) -> GGUFInfo:
    return read_gguf(path)


def gguf_info(path: Path) -> GGUFInfo:
    """read_gguf without arrays, remembered while the file keeps its size and modification time."""
    st = path.stat()
    return _cached(path, st.st_size, st.st_mtime_ns)


def human_count(n: int) -> str:
    """A parameter count as Ollama writes it: "135M", "494.03M", "1.5B", "7B"."""
    for unit, size, digits in (("B", 1e9, 1), ("M", 1e6, 2), ("K", 1e3, 0)):
        if n >= size:
            x = n / size
            return f"{x:.0f}{unit}" if x == int(x) or unit == "K" else f"{x:.{digits}f}{unit}"
    return str(n)


# general.file_type -> the quantization llama.cpp names it (llama_ftype)
FILE_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    32: "BF16",
}

__all__ = ["FILE_TYPES", "GGUFError", "GGUFInfo", "gguf_info", "human_count", "read_gguf"]
