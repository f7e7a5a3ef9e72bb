"""Voice: whether spoken questions are heard and answered right, and how fast.

Fifteen questions (some follow-ups: "what did she send me?" after "who sent me the contract?") are
spoken by espeak-ng, followed by silence, and run through the real loop: Silero VAD, Whisper
conditioned on the vocabulary of the memory (skills/voice/vocabulary.py), memory-grounded chat on
the model the planner picks for voice with the spoken prompt (skills/voice/prompt.py), Piper.
Reported per question and overall: the transcript's WER against the question (STT accuracy),
whether the answer holds the expected facts ("Tuesday" and "nine"), voice-to-voice latency (end of
the user's speech to the first answer sample) split into end-of-utterance detection, STT, prompt,
first sentence and TTS, Piper's real-time factor, and the WER of the answer audio heard back by
Whisper. First, Whisper models are compared on the same spoken questions, without and with the
vocabulary: WER and STT latency for each.

.venv/bin/python -m benchmarks.bench_voice [--rounds 1] [--model ID] [--stt whisper-base] [--stt-only]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import median, pct, write


@dataclass(frozen=True)
class Ask:
    """A spoken question, the fact words a right answer holds (each group: any one of its spellings),
    and whether it follows the previous question (keeps its turn, e.g. "what did she send")."""

    text: str
    expect: tuple[tuple[str, ...], ...]
    follow: bool = False


EVENTS: list[tuple[str, dict[str, Any]]] = [
    (
        "mail",
        {
            "kind": "message",
            "title": "Signed contract for the Lisbon office",
            "body": "Hi, attached is the signed lease contract. Best, Sarah Miller",
            "entities": {"people": ["Sarah Miller"]},
        },
    ),
    (
        "calendar",
        {"kind": "calendar", "title": "Dentist appointment", "body": "Tuesday at nine in the morning"},
    ),
    (
        "calendar",
        {
            "kind": "calendar",
            "title": "Design review with the product team",
            "body": "Thursday at three, room four",
        },
    ),
    ("travel", {"kind": "note", "title": "Flight to Lisbon", "body": "Friday at seven forty in the morning"}),
    (
        "notes",
        {
            "kind": "note",
            "title": "Cabin wifi password",
            "body": "The wifi password for the cabin is bluebird",
        },
    ),
    (
        "chat",
        {
            "kind": "message",
            "title": "Dinner on Saturday",
            "body": "Tom: dinner at Luigi's at eight on Saturday",
            "entities": {"people": ["Tom"]},
        },
    ),
    (
        "mail",
        {
            "kind": "message",
            "title": "Quarterly budget",
            "body": "Can you check the budget numbers by Wednesday? Thanks, Priya",
            "entities": {"people": ["Priya Raman"]},
        },
    ),
    ("calendar", {"kind": "calendar", "title": "Checkup with Doctor Okafor", "body": "Monday at ten thirty"}),
    (
        "notes",
        {"kind": "note", "title": "Parking", "body": "The car is parked on level three, spot B twelve"},
    ),
    (
        "chat",
        {
            "kind": "message",
            "title": "Train to Porto",
            "body": "I booked the train to Porto for Sunday at noon. Marco",
            "entities": {"people": ["Marco Rossi"]},
        },
    ),
    (
        "calendar",
        {
            "kind": "calendar",
            "title": "Yoga class with Ingrid",
            "body": "Wednesday at six in the evening",
            "entities": {"people": ["Ingrid"]},
        },
    ),
]
ASKS = [
    Ask("Who sent me the contract?", (("sarah",),)),
    Ask("What did she send me?", (("contract", "lease"),), follow=True),
    Ask("When is my dentist appointment?", (("tuesday",), ("nine", "9"))),
    Ask("When is the design review?", (("thursday",), ("three", "3"))),
    Ask("Which room is the design review in?", (("four", "4"),)),
    Ask("What time is my flight to Lisbon?", (("seven forty", "7:40", "7.40", "740"),)),
    Ask("What's the wifi password for the cabin?", (("bluebird", "blue bird"),)),
    Ask("Where are we having dinner on Saturday?", (("luigi",),)),
    Ask("What time did he say?", (("eight", "8"),), follow=True),
    Ask("What did Priya ask me to do?", (("budget",),)),
    Ask("When do I see Doctor Okafor?", (("monday",), ("ten thirty", "10:30", "10.30"))),
    Ask("Where did I park the car?", (("level three", "level 3"),)),
    Ask("Who booked the train to Porto?", (("marco",),)),
    Ask("When is the train he booked?", (("sunday",), ("noon", "12")), follow=True),
    Ask("When is yoga with Ingrid?", (("wednesday",), ("six", "6"))),
]


def correct(answer: str, expect: tuple[tuple[str, ...], ...]) -> bool:
    """Whether the answer holds one spelling of every expected fact (whole words, any case)."""
    low = " ".join(answer.lower().replace("’", "'").split())
    return all(
        any(re.search(rf"(?<![\w:.]){re.escape(alt)}(?![\w:])", low) for alt in group) for group in expect
    )


TARGETS = {"piper_rtf": 0.3, "v2v_p50": 2.0, "v2v_p95": 3.0, "answer_wer": 0.15}
STAGES = ("eou", "stt", "prompt", "first_sentence", "tts", "voice_to_voice")


def espeak(text: str, folder: Path) -> np.ndarray:
    """Return espeak-ng speech of text at 16 kHz (resampled by sox, no dither)."""
    from faster_whisper import decode_audio

    raw, out = folder / "q.22k.wav", folder / "q.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True, capture_output=True
    )
    subprocess.run(
        ["sox", "-D", str(raw), "-r", "16000", "-c", "1", str(out)], check=True, capture_output=True
    )
    return np.asarray(decode_audio(str(out), sampling_rate=16000), dtype=np.float32)


def piper_rtf(engine: Any, rounds: int = 2) -> dict[str, float]:
    """Synthesise a paragraph `rounds` times; return the real-time factor and first-sentence time."""
    text = (
        "Good morning. Your first meeting is at ten with the design team. After lunch, Sarah Miller "
        "wants to go over the signed contract for the Lisbon office. The flight leaves on Friday at "
        "seven forty, so pack tonight. Have a good day."
    )
    compute = audio = 0.0
    firsts = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for i, chunk in enumerate(engine.synthesize(text)):
            if i == 0:
                firsts.append(time.perf_counter() - t0)
            compute += chunk.seconds
            audio += chunk.duration
    return {"rtf": compute / audio, "audio_seconds": audio / rounds, "first_sentence_s": median(firsts)}


def stt_compare(
    speech: Any, audios: list[np.ndarray], asks: list[Ask], vocabulary: str, models: list[str], rounds: int
) -> dict[str, Any]:
    """Transcribe every spoken question with each model, without and with the vocabulary prompt, the
    way the voice loop does; return WER against the question and latency per option."""
    from runtime.engines.whisper import SttOptions
    from skills.speech.metrics import wer, words

    out: dict[str, Any] = {}
    for model in models:
        speech.transcribe(audios[0], model, SttOptions(language="en"))  # load and warm
        for vocab in (False, True):
            opts = SttOptions(
                language="en",
                window="short",
                min_window=10.0,
                word_timestamps=False,
                prompt=vocabulary if vocab else None,
            )
            rows: list[dict[str, Any]] = []
            times: list[float] = []
            for r in range(rounds):
                for ask, audio in zip(asks, audios):
                    t0 = time.perf_counter()
                    text = str(speech.transcribe(audio, model, opts).text)
                    times.append(time.perf_counter() - t0)
                    if r == 0:
                        rows.append({"question": ask.text, "heard": text, "wer": wer(ask.text, text)})
            n = sum(len(words(a.text)) for a in asks)
            key = f"{model}{' +vocabulary' if vocab else ''}"
            out[key] = {
                "wer": sum(r["wer"] * len(words(r["question"])) for r in rows) / n,
                "exact": sum(r["wer"] == 0 for r in rows),
                "questions": len(rows),
                "stt_p50": pct(times, 50),
                "stt_p95": pct(times, 95),
                "rows": rows,
            }
            print(
                f"{key:34s} WER {out[key]['wer']:.3f} exact {out[key]['exact']}/{len(rows)} "
                f"p50 {out[key]['stt_p50']:.3f}s p95 {out[key]['stt_p95']:.3f}s",
                flush=True,
            )
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=1, help="times each question is asked")
    ap.add_argument("--model", default=None, help="chat model (default: the planner's voice model)")
    ap.add_argument("--stt", default=None, help="Whisper model for the loop (default: the voice skill's)")
    ap.add_argument("--no-vocabulary", action="store_true", help="no vocabulary prompt for Whisper")
    ap.add_argument(
        "--compare", default="whisper-tiny.en,whisper-base", help="Whisper models to compare ('' skips it)"
    )
    ap.add_argument("--stt-only", action="store_true", help="only the Whisper comparison, no loop")
    ap.add_argument("--name", default="voice", help="results file name (benchmarks/results/NAME.json)")
    args = ap.parse_args(argv)

    from assistant.services import Services
    from runtime.audio import ArraySource, AudioOptions
    from runtime.config import Config
    from runtime.engines.whisper import SttOptions
    from skills.memory import MemoryOptions, MemorySkill, StoreOptions
    from skills.memory.embed import FakeEmbedder
    from skills.memory.model import Caller
    from skills.speech.metrics import wer, words
    from skills.voice import SttChoice, TimelineSink, VoiceOptions, Vocabulary
    from skills.voice.sentences import speakable
    from skills.voice.sinks import resample

    cfg = Config.from_env()
    tmp = Path(tempfile.mkdtemp(prefix="bench-voice-"))
    memory = MemorySkill(
        MemoryOptions(StoreOptions(tmp / "m.db", key_source="file")), embedder=FakeEmbedder()
    )
    for app, ev in EVENTS:
        memory.push(Caller(app), ev)
    services = Services(cfg, overrides={"memory": memory})
    speech = services.skill("speech")
    spoken = [espeak(a.text, tmp) for a in ASKS]
    vocabulary = Vocabulary(memory, Caller.user()).text()
    print(f"vocabulary ({len(vocabulary)} chars): {vocabulary}", flush=True)
    models = [m for m in args.compare.split(",") if m]
    compare = stt_compare(speech, spoken, ASKS, vocabulary, models, 2) if models else {}
    if args.stt_only:
        path = write(args.name, {"vocabulary": vocabulary, "stt": compare, "notes": NOTES})
        print(f"wrote {path}")
        services.close()
        memory.close()
        return
    rt = services.runtime
    model = args.model or rt.model_for("voice")
    why = ""
    try:
        from runtime.calibrate import role_plan

        why = role_plan(rt)["voice"].reason
    except Exception as exc:  # the role planner is optional here: say why it could not answer
        why = f"role plan unavailable ({type(exc).__name__})"
    rt.store.ensure(model)
    with rt.scheduler.use(model):  # load before timing anything
        pass
    check = SttOptions(language="en", window="padded", beam_size=5, word_timestamps=False)
    base = VoiceOptions()
    options = replace(base, chat=replace(base.chat, model=model))
    stt = SttChoice(model=args.stt or SttChoice().model, vocabulary=not args.no_vocabulary)
    rows: list[dict[str, Any]] = []
    t_load = time.perf_counter()
    with services.skill("voice").loop(options, Caller.user(), stt=stt) as loop:
        load_s = time.perf_counter() - t_load
        rtf = piper_rtf(loop.tts)
        tail = np.zeros(16000, np.float32)
        # a grounded warm-up: a plain-path answer would leave its own prompt, not the spoken prefix, cached
        warm = espeak("What is on my calendar today?", tmp)
        list(loop.run(ArraySource(np.concatenate([warm, tail])), TimelineSink()))  # warm every stage once
        for r in range(args.rounds):
            for ask, question in zip(ASKS, spoken):
                if not ask.follow:
                    loop.context.turns.clear()  # a new topic: no earlier turns in the prompt
                audio = np.concatenate([question, tail])
                sink = TimelineSink()
                events = list(loop.run(ArraySource(audio, AudioOptions(chunk_seconds=0.1)), sink))
                done = [e for e in events if e.kind == "turn_done"]
                heard_q = next((e.text for e in events if e.kind == "transcript"), "")
                if not done or done[0].stats is None:
                    rows.append(
                        {
                            "question": ask.text,
                            "round": r,
                            "transcript": heard_q,
                            "correct": False,
                            "error": "no answer",
                        }
                    )
                    continue
                answer = speakable(done[0].text)
                heard_audio = resample(sink.audio(), sink.sample_rate or 22050, 16000)
                heard = (
                    str(speech.transcribe(heard_audio, "whisper-tiny.en", check).text)
                    if len(heard_audio)
                    else ""
                )
                row = {
                    "question": ask.text,
                    "round": r,
                    "transcript": heard_q,
                    "stt_wer": wer(ask.text, heard_q),
                    "answer": answer,
                    "correct": correct(answer, ask.expect),
                    "expect": [list(g) for g in ask.expect],
                    "heard_back": heard,
                    "answer_words": len(words(answer)),
                    "answer_wer": wer(answer, heard),
                    "cited": [c.app for c in done[0].citations],
                    **done[0].stats.to_dict(),
                }
                rows.append(row)
                print(
                    f"{'✓' if row['correct'] else '✗'} {ask.text:40s} v2v {row['voice_to_voice']:.2f}s "
                    f"(stt {row['stt']:.2f} prompt {row['prompt']:.2f} sentence {row['first_sentence']:.2f} "
                    f"tts {row['tts']:.2f}) heard {heard_q!r} | {answer[:70]}",
                    flush=True,
                )
    services.close()
    memory.close()
    ok = [r for r in rows if "voice_to_voice" in r]
    stages = {s: {"p50": pct([r[s] for r in ok], 50), "p95": pct([r[s] for r in ok], 95)} for s in STAGES}
    n_words = sum(r["answer_words"] for r in ok)
    wer_all = sum(r["answer_wer"] * r["answer_words"] for r in ok) / n_words if n_words else float("nan")
    q_words = sum(len(words(r["question"])) for r in ok)
    stt_wer = sum(r["stt_wer"] * len(words(r["question"])) for r in ok) / q_words if q_words else float("nan")
    right = sum(bool(r["correct"]) for r in rows) / len(rows) if rows else float("nan")
    result = {
        "model": model,
        "model_choice": why,
        "voice": "piper-joe-medium",
        "stt": stt.model,
        "vocabulary": vocabulary if stt.vocabulary else "",
        "turns": len(ok),
        "failed_turns": len(rows) - len(ok),
        "voice_load_s": load_s,
        "piper": rtf,
        "stages": stages,
        "stt_wer": stt_wer,
        "answer_correct": right,
        "answer_wer": wer_all,
        "stt_compare": compare,
        "targets": TARGETS,
        "met": {
            "piper_rtf": rtf["rtf"] <= TARGETS["piper_rtf"],
            "v2v_p50": stages["voice_to_voice"]["p50"] <= TARGETS["v2v_p50"],
            "v2v_p95": stages["voice_to_voice"]["p95"] <= TARGETS["v2v_p95"],
            "answer_wer": wer_all <= TARGETS["answer_wer"],
        },
        "notes": NOTES,
        "load_average": [round(x, 2) for x in os.getloadavg()],  # how busy the 2 cores were at the end
        "rows": rows,
    }
    path = write(args.name, result)
    v = stages["voice_to_voice"]
    print(
        f"Piper RTF {rtf['rtf']:.3f}; v2v p50 {v['p50']:.2f} s p95 {v['p95']:.2f} s; STT WER {stt_wer:.3f}; "
        f"answers right {right:.0%}; answer WER {wer_all:.3f}"
    )
    print(f"wrote {path}")


NOTES = "memory ranks with the hashing FakeEmbedder (keyword search does the grounding)"


if __name__ == "__main__":
    main()
