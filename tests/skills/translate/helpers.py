"""What translate tests (and benchmarks/bench_translate.py) import: tiny CTranslate2 translation
models built from numpy weights, with a sentencepiece model trained here, packed as .argosmodel
files like Argos Translate's."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

TEXT = [
    "the cat sits on the mat",
    "hello world",
    "good morning my friend",
    "the dog runs in the park",
    "o gato dorme",
    "bom dia meu amigo",
    "der Hund läuft",
    "guten Morgen mein Freund",
] * 10


def build_tiny_model(folder: Path, seed: int) -> Path:
    """Write a 1-layer Transformer (d=16) with random weights and a trained sentencepiece model."""
    import ctranslate2  # noqa: F401  (converters need the package)
    import sentencepiece as spm
    from ctranslate2.converters.converter import Converter
    from ctranslate2.specs import transformer_spec as ts

    folder.mkdir(parents=True)
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(TEXT),
        model_writer=buf,
        vocab_size=40,
        model_type="unigram",
        character_coverage=1.0,
        bos_id=-1,
        eos_id=-1,
        unk_id=0,
        pad_id=-1,
        minloglevel=2,
    )
    (folder / "sentencepiece.model").write_bytes(buf.getvalue())
    sp = spm.SentencePieceProcessor(model_file=str(folder / "sentencepiece.model"))
    vocab = ["<unk>", "<s>", "</s>"] + [sp.id_to_piece(i) for i in range(1, sp.get_piece_size())]
    d, ff, v = 16, 32, len(vocab)
    rng = np.random.default_rng(seed)

    def lin(s, o, i):  # type: ignore[no-untyped-def]
        s.weight = (rng.standard_normal((o, i)) * 0.1).astype(np.float32)
        s.bias = np.zeros(o, np.float32)

    def ln(s):  # type: ignore[no-untyped-def]
        s.gamma, s.beta = np.ones(d, np.float32), np.zeros(d, np.float32)

    spec = ts.TransformerSpec.from_config(1, 2, pre_norm=True)
    enc, dec = spec.encoder, spec.decoder
    enc.embeddings[0].weight = rng.standard_normal((v, d)).astype(np.float32)
    dec.embeddings.weight = rng.standard_normal((v, d)).astype(np.float32)
    ln(enc.layer_norm)
    ln(dec.layer_norm)
    for layer, cross in ((enc.layer[0], False), (dec.layer[0], True)):
        ln(layer.self_attention.layer_norm)
        lin(layer.self_attention.linear[0], 3 * d, d)
        lin(layer.self_attention.linear[1], d, d)
        if cross:
            ln(layer.attention.layer_norm)
            lin(layer.attention.linear[0], d, d)
            lin(layer.attention.linear[1], 2 * d, d)
            lin(layer.attention.linear[2], d, d)
        ln(layer.ffn.layer_norm)
        lin(layer.ffn.linear_0, ff, d)
        lin(layer.ffn.linear_1, d, ff)
    lin(dec.projection, v, d)
    spec.register_source_vocabulary(vocab)
    spec.register_target_vocabulary(vocab)

    class _Spec(Converter):
        def _load(self):  # type: ignore[no-untyped-def]
            return spec

    _Spec().convert(str(folder / "model"), force=True)
    return folder


def pack_argos(folder: Path, out: Path, src: str, dst: str) -> Path:
    """Zip folder as an .argosmodel: <name>/model/..., <name>/sentencepiece.model, <name>/metadata.json."""
    name = f"translate-{src}_{dst}"
    meta = {
        "package_version": "1.0",
        "argos_version": "1.9",
        "from_code": src,
        "to_code": dst,
        "from_name": src,
        "to_name": dst,
    }
    with zipfile.ZipFile(out, "w") as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                z.write(p, f"{name}/{p.relative_to(folder)}")
        z.writestr(f"{name}/metadata.json", json.dumps(meta))
    return out
