"""Streaming captions vs offline faster-whisper on an espeak-ng recording: RTF, commit lag, WER.

    .venv/bin/python benchmarks/bench_speech.py [--minutes 3] [--models whisper-tiny.en,whisper-base]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import sys

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import Config  # noqa: E402
from benchmarks.common import median, pct, write  # noqa: E402

PARAGRAPH = ("The library opens at nine in the morning and closes at six in the evening. Visitors can borrow "
             "up to five books at a time. The children's section is on the second floor, next to the reading "
             "room. On Saturdays there is a story hour for young readers. Please return your books on time, "
             "so that other people can enjoy them too. ")


def record(minutes: float, folder: Path) -> tuple[np.ndarray, str]:
    """Return espeak-ng speech at least `minutes` long (16 kHz mono) and its text."""
    from faster_whisper import decode_audio

    words_per_min = 160
    repeats = max(1, int(minutes * words_per_min / len(PARAGRAPH.split())) + 1)
    text = PARAGRAPH * repeats
    raw, wav = folder / "raw.wav", folder / "speech.wav"
    subprocess.run(["espeak-ng", "-s", "160", "-w", str(raw), text], check=True, capture_output=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", str(wav)], check=True, capture_output=True)
    return np.asarray(decode_audio(str(wav)), dtype=np.float32), text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--models", default="whisper-tiny.en,whisper-base")
    args = ap.parse_args()
    from runtime.audio import ArraySource, AudioOptions
    from runtime.engines.whisper import SttOptions, WhisperEngine
    from runtime.planner import PlanOptions, plan_all
    from runtime.probe import probe
    from runtime.store import ModelStore
    from skills.speech import SpeechSkill, StreamOptions
    from skills.speech.metrics import wer

    cfg = Config.from_env()
    store = ModelStore(cfg.models_dir)
    plans = plan_all(probe(), PlanOptions(threads=cfg.threads))
    skill = SpeechSkill(lambda m: WhisperEngine.load(m, store.ensure(m).path, plans["ctranslate2"]))
    with tempfile.TemporaryDirectory() as tmp:
        audio, text = record(args.minutes, Path(tmp))
    seconds = len(audio) / 16000
    print(f"espeak-ng recording: {seconds:.0f} s")
    out: dict[str, object] = {"audio_seconds": seconds}
    for model in args.models.split(","):
        engine = skill.engine(model)
        t0 = time.perf_counter()
        offline = engine.transcribe(audio, SttOptions(language="en", word_timestamps=False))
        off_s = time.perf_counter() - t0
        t = skill.transcriber(StreamOptions(model=model, language="en", adapt=True))
        from skills.speech.stream import simulate

        events = list(simulate(t, ArraySource(audio, AudioOptions(0.25))))
        committed = [e for e in events if e.kind == "committed"]
        lags = [e.lag for e in committed]
        first_partial = next((e.emitted_at for e in events if e.kind == "partial"), float("nan"))
        first_commit = committed[0].emitted_at if committed else float("nan")
        stream_text = "".join(e.text for e in committed)
        third = len(lags) // 3
        r = {
            "offline_rtf": off_s / seconds, "offline_wer": wer(text, offline.text),
            "stream_rtf": t.stats()["rtf"], "stream_wer": wer(text, stream_text),
            "commit_lag_p50": median(lags), "commit_lag_p95": pct(lags, 95),
            "lag_first_third_p50": median(lags[:third]), "lag_last_third_p50": median(lags[-third:]),
            "first_partial_s": first_partial, "first_commit_s": first_commit,
            "adaptations": [e.note for e in events if e.kind == "adapted"],
        }
        r["wer_ratio_stream_vs_offline"] = r["stream_wer"] / max(r["offline_wer"], 1e-9)
        r["rtf_ratio_stream_vs_offline"] = r["stream_rtf"] / max(r["offline_rtf"], 1e-9)
        out[model] = r
        print(f"{model}: offline RTF {r['offline_rtf']:.2f} WER {r['offline_wer']:.3f} | streaming RTF "
              f"{r['stream_rtf']:.2f} WER {r['stream_wer']:.3f} ({r['wer_ratio_stream_vs_offline']:.2f}x offline) | "
              f"commit lag p50 {r['commit_lag_p50']:.2f} s p95 {r['commit_lag_p95']:.2f} s (first third "
              f"{r['lag_first_third_p50']:.2f}, last third {r['lag_last_third_p50']:.2f}) | first partial "
              f"{first_partial:.2f} s, first commit {first_commit:.2f} s | {len(r['adaptations'])} adaptations")
    print("wrote", write("speech", out))


if __name__ == "__main__":
    main()
