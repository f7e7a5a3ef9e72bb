"""VoiceLoop.stop(): a conversation ends from another thread (the TUI's Stop, Ctrl+C) without
finishing the answer in progress and without taking buffered audio as one more question."""

from __future__ import annotations

import threading
import time

import numpy as np

from runtime.audio import ArraySource, AudioOptions, PacedSource
from runtime.engines.piper import FakeTtsEngine
from skills.voice import TimelineSink, VoiceLoop
from tests.skills.voice.helpers import speak
from tests.skills.voice.test_voice_logic import FakeChat, scripted


def _stop_when(loop: VoiceLoop, events: list[str], kind: str) -> threading.Thread:
    def watch() -> None:
        while kind not in events:
            time.sleep(0.01)
        loop.stop()

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


def test_stop_during_a_live_answer_cancels_it_and_ends_the_run(tmp_path) -> None:  # type: ignore[no-untyped-def]
    question = speak("What is on my calendar today?", tmp_path / "q.wav")
    audio = np.concatenate([question, np.zeros(16000 * 20, np.float32)])  # then a long silence
    chat = FakeChat("one two three four five six seven eight nine ten " * 30, delay=0.05)
    loop = VoiceLoop(scripted("first question"), chat, FakeTtsEngine())
    seen: list[str] = []
    watcher = _stop_when(loop, seen, "token")
    t0 = time.perf_counter()
    events = []
    for ev in loop.run(PacedSource(ArraySource(audio, AudioOptions(chunk_seconds=0.1))), TimelineSink()):
        events.append(ev)
        seen.append(ev.kind)
    watcher.join(timeout=5)
    took = time.perf_counter() - t0
    assert seen[-1] == "done" and loop.stopped
    # the 20 s of silence after the question were not waited out, nor the 300-word answer written
    assert took < len(question) / 16000 + 8, took
    done = next(e for e in events if e.kind == "turn_done")
    assert len(done.text.split()) < 200 and loop.context.turns[0].interrupted


def test_stop_during_a_recorded_turn_takes_no_more_questions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    q1 = speak("What is on my calendar today?", tmp_path / "q1.wav")
    q2 = speak("What time is it?", tmp_path / "q2.wav")
    gap = np.zeros(16000, np.float32)
    audio = np.concatenate([q1, gap, q2, gap])
    chat = FakeChat("one two three four five six seven eight nine ten " * 30, delay=0.01)
    loop = VoiceLoop(scripted("first question", "second question"), chat, FakeTtsEngine())
    seen: list[str] = []
    watcher = _stop_when(loop, seen, "token")
    events = []
    for ev in loop.run(ArraySource(audio, AudioOptions(chunk_seconds=0.1)), TimelineSink()):
        events.append(ev)
        seen.append(ev.kind)
    watcher.join(timeout=5)
    assert seen.count("transcript") == 1 and seen[-1] == "done"
    assert len(chat.seen) == 1 and loop.context.turns[0].interrupted


def test_without_barge_in_speech_over_an_answer_is_not_taken(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # half duplex, as on speakers with no echo cancellation: the answer coming back into the
    # microphone (here, a second question while the first answer plays) is not a new question
    from dataclasses import replace

    from skills.voice import VoiceOptions

    q1 = speak("What is on my calendar today?", tmp_path / "q1.wav")
    q2 = speak("What time is it?", tmp_path / "q2.wav")
    gap = np.zeros(int(1.2 * 16000), np.float32)
    audio = np.concatenate([q1, gap, q2, gap, q2, np.zeros(16000 * 8, np.float32), q2, gap])
    long_answer = "You have a meeting with the design team at ten, then lunch with Sarah. " * 2
    options = replace(VoiceOptions(), barge_in=False)
    chat = FakeChat(long_answer)
    loop = VoiceLoop(scripted("first", "second", "third", "fourth"), chat, FakeTtsEngine(), options)
    sink = TimelineSink()
    events = list(loop.run(ArraySource(audio, AudioOptions(chunk_seconds=0.1)), sink))
    kinds = [e.kind for e in events]
    # the two questions over the first answer are dropped; the one after it ended is answered
    assert kinds.count("transcript") == 2 and "barge_in" not in kinds, kinds
    assert [e.text for e in events if e.kind == "transcript"] == ["first", "second"]
    assert len(chat.seen) == 2 and not loop.context.turns[0].interrupted
