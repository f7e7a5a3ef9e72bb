"""Streaming captions vs offline faster-whisper on an espeak-ng recording: RTF, commit lag, WER.

    .venv/bin/python -m benchmarks.bench_speech [--minutes 3] [--models whisper-tiny.en,whisper-base]
        [--variants default,padded] [--rounds 1] [--hog 0] [--text library|trip]

Each variant is a StreamOptions change from the default (short-window passes, VAD on, 2 s step,
beam 5). The load average is recorded with each run: other work on the machine slows
the passes, and a stream that falls behind adapts (beam 1, bigger steps), which costs accuracy.
Variants run interleaved, round after round, and the report quotes medians over rounds, because
the machine is shared and absolute timings drift; ratios within one round are what to compare.
`--hog N` runs N busy processes during the streams (not the offline reference), for a repeatable
"loaded machine". The recording is resampled without dither, so every run hears the same audio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from runtime.config import Config
from benchmarks.common import median, pct, write

PARAGRAPH = (
    "The library opens at nine in the morning and closes at six in the evening. Visitors can borrow "
    "up to five books at a time. The children's section is on the second floor, next to the reading "
    "room. On Saturdays there is a story hour for young readers. Please return your books on time, "
    "so that other people can enjoy them too. "
)

# a second, non-repeating text: a check that the defaults are not tuned to the library paragraph
TRIP = (
    "Our train leaves the central station at a quarter past eight, so we should meet at the coffee shop "
    "near platform four. Bring the printed tickets and a warm jacket, because the mountains are cold in "
    "November. The hotel has a small restaurant that serves fresh fish and vegetable soup. After dinner we "
    "can walk along the river and look at the old bridge, which was built more than three hundred years ago. "
    "On Sunday morning the market opens early, and the farmers sell bread, cheese, honey and apples. "
    "If it rains, we will visit the museum of science instead, where children can build simple machines. "
    "Please remember to charge your phone and to write down the address of the hotel. "
)
TEXTS = {"library": PARAGRAPH, "trip": TRIP}

# name -> StreamOptions changes; "default" is the shipped configuration
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "padded": {"window": "padded"},  # faster-whisper's 30 s window each pass (the previous path)
    "min0": {"min_window": 0.0},
    "min10": {"min_window": 10.0},
    "step0.5": {"step": 0.5},
    "step1": {"step": 1.0},
    "step2": {"step": 2.0},
    "novad": {"vad": False},
    "buffer5": {"buffer_seconds": 5.0},
    "buffer6": {"buffer_seconds": 6.0},
    "beam1": {"beam_size": 1},
    "beam2": {"beam_size": 2},
    "beam5": {"beam_size": 5},  # what offline transcribe uses (the default)
    "nopause": {"pause_pass": False},  # passes only every step, not also at each pause
    "noprompt": {"prompt_chars": 0},
    "prompt": {"prompt_chars": 200},
    "silence0.7": {"end_silence": 0.7},
}


def record(minutes: float, folder: Path, paragraph: str = PARAGRAPH) -> tuple[np.ndarray, str]:
    """Return espeak-ng speech of the paragraph, repeated to at least `minutes` (16 kHz mono), and its text."""
    from faster_whisper import decode_audio

    def speak(text: str) -> np.ndarray:
        raw, wav = folder / "raw.wav", folder / "speech.wav"
        subprocess.run(["espeak-ng", "-s", "160", "-w", str(raw), text], check=True, capture_output=True)
        subprocess.run(
            ["sox", "-D", str(raw), "-r", "16000", "-c", "1", str(wav)], check=True, capture_output=True
        )
        return np.asarray(decode_audio(str(wav)), dtype=np.float32)

    # repeats from the measured length of one paragraph: espeak's real pace is below its -s figure
    once = len(speak(paragraph)) / 16000
    text = paragraph * max(1, int(np.ceil(minutes * 60 / once)))
    return speak(text), text


def stream(skill: Any, audio: np.ndarray, text: str, options: Any, onset: float) -> dict[str, Any]:
    """Return the metrics of one simulated real-time stream of the recording."""
    from runtime.audio import ArraySource, AudioOptions
    from skills.speech.metrics import wer
    from skills.speech.stream import simulate

    t = skill.transcriber(options)
    load = os.getloadavg()[0]
    events = list(simulate(t, ArraySource(audio, AudioOptions(0.25))))
    committed = [e for e in events if e.kind == "committed"]
    lags = [e.lag for e in committed]
    first_partial = next((e.emitted_at for e in events if e.kind == "partial"), float("nan"))
    first_commit = committed[0].emitted_at if committed else float("nan")
    third = max(1, len(lags) // 3)
    return {
        "stream_rtf": t.stats()["rtf"],
        "stream_wer": wer(text, "".join(e.text for e in committed)),
        "commit_lag_p50": median(lags),
        "commit_lag_p95": pct(lags, 95),
        "lag_first_third_p50": median(lags[:third]),
        "lag_last_third_p50": median(lags[-third:]),
        "first_partial_after_onset_s": first_partial - onset,
        "first_commit_after_onset_s": first_commit - onset,
        "adaptations": [e.note for e in events if e.kind == "adapted"],
        "load_average_1min": (load + os.getloadavg()[0]) / 2,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--models", default="whisper-tiny.en,whisper-base")
    ap.add_argument("--variants", default="default,padded")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--name", default="speech")
    ap.add_argument("--text", choices=sorted(TEXTS), default="library", help="paragraph to speak (repeated)")
    ap.add_argument("--hog", type=int, default=0, help="busy processes to run during the streams")
    args = ap.parse_args()
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
        audio, text = record(args.minutes, Path(tmp), TEXTS[args.text])
    seconds = len(audio) / 16000
    onset = float(np.argmax(np.abs(audio) > 0.02)) / 16000
    variants = args.variants.split(",")
    print(
        f"espeak-ng recording: {seconds:.0f} s, speech onset {onset:.2f} s; variants {variants} x {args.rounds}"
    )
    out: dict[str, Any] = {
        "text": args.text,
        "audio_seconds": seconds,
        "rounds": args.rounds,
        "busy_processes": args.hog,
        "variants": {v: VARIANTS[v] for v in variants},
    }
    for model in args.models.split(","):
        engine = skill.engine(model)
        engine.transcribe(
            audio[: 16000 * 3], SttOptions(language="en", window="short")
        )  # warm up: first call pays setup
        t0 = time.perf_counter()
        offline = engine.transcribe(audio, SttOptions(language="en", word_timestamps=False))
        off_s = time.perf_counter() - t0
        r: dict[str, Any] = {"offline_rtf": off_s / seconds, "offline_wer": wer(text, offline.text)}
        runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.hog)]
        try:
            for _ in range(args.rounds):
                for v in variants:
                    opts = StreamOptions(**{"model": model, "language": "en", **VARIANTS[v]})
                    runs[v].append(stream(skill, audio, text, opts, onset))
        finally:
            for h in hogs:
                h.kill()
        print(f"{model}: offline RTF {r['offline_rtf']:.2f} WER {r['offline_wer']:.3f}")
        for v in variants:
            m: dict[str, Any] = {k: median([x[k] for x in runs[v]]) for k in runs[v][0] if k != "adaptations"}
            m["adaptations"] = runs[v][-1]["adaptations"]
            m["stream_wer_each_round"] = [x["stream_wer"] for x in runs[v]]
            m["wer_ratio_stream_vs_offline"] = m["stream_wer"] / max(r["offline_wer"], 1e-9)
            m["rtf_ratio_stream_vs_offline"] = m["stream_rtf"] / max(r["offline_rtf"], 1e-9)
            r[v] = m
            print(
                f"  {v:8s} streaming RTF {m['stream_rtf']:.2f} WER {m['stream_wer']:.3f} "
                f"({m['wer_ratio_stream_vs_offline']:.2f}x offline) | commit lag p50 {m['commit_lag_p50']:.2f} s "
                f"p95 {m['commit_lag_p95']:.2f} s (first third {m['lag_first_third_p50']:.2f}, last third "
                f"{m['lag_last_third_p50']:.2f}) | after onset: first partial {m['first_partial_after_onset_s']:.2f} s, "
                f"first commit {m['first_commit_after_onset_s']:.2f} s | {len(m['adaptations'])} adaptations "
                f"| load {m['load_average_1min']:.1f}"
            )
        if "padded" in r and "default" in r:
            r["rtf_ratio_default_vs_padded"] = r["default"]["stream_rtf"] / max(
                r["padded"]["stream_rtf"], 1e-9
            )
            print(f"  short-window streaming costs {r['rtf_ratio_default_vs_padded']:.2f}x the padded path")
        out[model] = r
    print("wrote", write(args.name, out))


if __name__ == "__main__":
    main()
