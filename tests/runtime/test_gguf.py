"""The GGUF header reader on files written here by the format's spec (and cut short, or not GGUF);
the shipped models' headers are compared with llama.cpp's own reading in tests/daemon/test_ollama.py."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from runtime.gguf import GGUFError, gguf_info, human_count, read_gguf


def _s(text: str) -> bytes:
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def _kv(key: str, vtype: int, payload: bytes) -> bytes:
    return _s(key) + struct.pack("<I", vtype) + payload


def write_gguf(path: Path, tensors: list[tuple[str, list[int]]]) -> bytes:
    kvs = [
        _kv("general.architecture", 8, _s("llama")),
        _kv("llama.context_length", 4, struct.pack("<I", 8192)),
        _kv("general.file_type", 4, struct.pack("<I", 15)),
        _kv("llama.rope.freq_base", 6, struct.pack("<f", 0.5)),
        _kv("tokenizer.ggml.add_bos_token", 7, struct.pack("<?", True)),
        _kv("tokenizer.ggml.eos_token_id", 4, struct.pack("<I", 2)),
        _kv("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 3) + _s("<s>") + _s("hé") + _s("</s>")),
        _kv("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, 3) + struct.pack("<3f", 1, 2, 3)),
        _kv("tokenizer.chat_template", 8, _s("{% for m in messages %}{{ m.content }}{% endfor %}")),
    ]
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs)
    for name, dims in tensors:
        head += _s(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
        head += struct.pack("<IQ", 0, 0)
    path.write_bytes(head + b"\0" * 64)
    return head


def test_reads_keys_arrays_asked_for_and_the_parameter_count(tmp_path: Path) -> None:
    p = tmp_path / "m.gguf"
    write_gguf(p, [("token_embd.weight", [4, 10]), ("blk.0.attn_q.weight", [4, 4]), ("norm", [4])])
    info = read_gguf(p)
    md: dict[str, Any] = info.metadata
    assert md["general.architecture"] == "llama" and md["llama.context_length"] == 8192
    assert md["llama.rope.freq_base"] == 0.5 and md["tokenizer.ggml.add_bos_token"] is True
    assert md["tokenizer.chat_template"].startswith("{% for m in messages %}")
    assert md["tokenizer.ggml.tokens"] == [] and info.array_lengths["tokenizer.ggml.tokens"] == 3
    assert info.parameter_count == 40 + 16 + 4 and info.tensor_count == 3
    asked = read_gguf(p, ["tokenizer.ggml.tokens"]).metadata
    assert asked["tokenizer.ggml.tokens"] == ["<s>", "hé", "</s>"] and asked["tokenizer.ggml.scores"] == []
    assert read_gguf(p, "all").metadata["tokenizer.ggml.scores"] == [1.0, 2.0, 3.0]
    assert gguf_info(p) == info and gguf_info(p) is gguf_info(p)  # remembered


@pytest.mark.parametrize("cut", [0, 3, 10, 40, 200, -30])
def test_a_header_cut_short_is_a_gguf_error(tmp_path: Path, cut: int) -> None:
    p = tmp_path / "m.gguf"
    head = write_gguf(p, [("t", [2, 2])])
    p.write_bytes(head[:cut])
    with pytest.raises(GGUFError):
        read_gguf(p)


def test_a_file_that_is_not_gguf_is_a_gguf_error(tmp_path: Path) -> None:
    p = tmp_path / "m.gguf"
    p.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(GGUFError, match="not a GGUF file"):
        read_gguf(p)
    p.write_bytes(b"GGUF" + struct.pack("<IQQ", 1, 0, 0) + b"\0" * 8)
    with pytest.raises(GGUFError, match="version"):
        read_gguf(p)


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (134_515_008, "134.52M"),
        (494_032_768, "494.03M"),
        (1_500_000_000, "1.5B"),
        (7_000_000_000, "7B"),
        (8_000_000, "8M"),
        (22_700, "23K"),
        (512, "512"),
    ],
)
def test_parameter_counts_read_as_ollama_writes_them(n: int, text: str) -> None:
    assert human_count(n) == text
