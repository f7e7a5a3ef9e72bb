"""The voice loop's logic: sentence splitting, end of utterance on real speech (Silero VAD on
espeak-ng audio), barge-in on a recorded and on a live stream, context, and no-speech input. Chat
and voice are fakes here; the round trip with real models is in test_voice_real.py."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pytest

from runtime.audio import ArraySource, AudioOptions, PacedSource
from runtime.engines.base import CancelToken, ChatMessage
from runtime.engines.piper import FakeTtsEngine, split_sentences
from skills.chat import ChatAnswer, ChatOptions
from skills.voice import TimelineSink, VoiceLoop, VoiceOptions
from skills.voice.context import ConversationContext, Turn
from skills.voice.sentences import SentenceBuffer, speakable
from skills.voice.utterance import UtteranceDetector
from tests.skills.voice.helpers import speak


class FakeChat:
    """Streams a fixed reply word by word; records the messages it was given."""

    def __init__(self, reply: str, delay: float = 0.0) -> None:
        self.reply, self.delay = reply, delay
        self.seen: list[list[ChatMessage]] = []

    def stream(
        self,
        messages: Sequence[ChatMessage],
        caller: Any = None,
        options: ChatOptions = ChatOptions(),
        cancel: CancelToken | None = None,
    ) -> Iterator[str]:
        self.seen.append(list(messages))
        out = []
        for w in self.reply.split(" "):
            if cancel is not None and cancel.cancelled:
                break
            time.sleep(self.delay)
            out.append(w + " ")
            yield w + " "
        return ChatAnswer("".join(out).strip(), ())


def scripted(*texts: str) -> Any:
    said = list(texts)

    def transcribe(audio: np.ndarray) -> str:
        return said.pop(0) if said else ""

    return transcribe


@pytest.fixture(scope="module")
def two_questions(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, float]:
    """Two spoken questions 1.2 s apart; returns the audio and where the second one starts."""
    d = tmp_path_factory.mktemp("voice-logic")
    q1 = speak("What is on my calendar today?", d / "q1.wav")
    q2 = speak("Stop. What time is it?", d / "q2.wav")
    gap = np.zeros(int(1.2 * 16000), np.float32)
    return np.concatenate([q1, gap, q2, gap]), (len(q1) + len(gap)) / 16000


def test_sentences_split_at_boundaries_but_not_inside_numbers_or_titles() -> None:
    text = "Dr. Lima called at 3.5 pm. She sent the contract! Did you read it? Yes"
    assert split_sentences(text) == [
        "Dr. Lima called at 3.5 pm.",
        "She sent the contract!",
        "Did you read it?",
        "Yes",
    ]
    long = "word, " * 200
    assert all(len(s) <= 400 for s in split_sentences(long)) and len(split_sentences(long)) > 1


def test_streamed_answer_gives_speakable_sentences_as_they_complete() -> None:
    buf = SentenceBuffer()
    out: list[str] = []
    for piece in ["Sarah Miller sent", " you the contract", " [1]. It is", " signed**. ", "Anything else"]:
        out += buf.feed(piece)
        if piece.endswith("[1]. It is"):
            assert out == ["Sarah Miller sent you the contract."]  # ready before the answer ends
    out += buf.flush()
    assert out == ["Sarah Miller sent you the contract.", "It is signed.", "Anything else"]
    first = SentenceBuffer().feed("Your next dentist appointment, on Tuesday at nine")
    assert first == [
        "Your next dentist appointment,"
    ]  # a long first clause is spoken before its sentence ends
    assert speakable("See https://x.example/a [mem:3] *now*") == "See a link now"
    # a fact's source copied from the spoken prompt is not read out; other brackets are
    assert speakable("Dentist appointment (your calendar): Tuesday.") == "Dentist appointment: Tuesday."
    assert speakable("Lunch (your calendar, with Ana Lima) at noon (maybe).") == "Lunch at noon (maybe)."


def test_end_of_utterance_on_real_speech(two_questions: tuple[np.ndarray, float]) -> None:
    audio, second = two_questions
    det = UtteranceDetector()
    events = [e for i in range(0, len(audio), 1600) for e in det.feed(audio[i : i + 1600])] + det.flush()
    assert [e.kind for e in events] == ["start", "end", "start", "end"]
    first_end, second_start = events[1], events[2]
    assert 0.45 <= first_end.at - first_end.speech_end <= 0.7  # ended by ~0.5 s of silence
    assert abs(second_start.speech_start - second) < 0.3
    assert first_end.audio is not None and 1.0 < len(first_end.audio) / 16000 < 3.0


def test_barge_in_on_a_recorded_stream_cuts_the_answer_and_takes_the_new_utterance(
    two_questions: tuple[np.ndarray, float],
) -> None:
    audio, second = two_questions
    long_answer = "You have a meeting with the design team at ten, then lunch with Sarah. " * 3
    tts = FakeTtsEngine()
    loop = VoiceLoop(
        scripted("What is on my calendar today?", "Stop. What time is it?"), FakeChat(long_answer), tts
    )
    sink = TimelineSink()
    events = list(loop.run(ArraySource(audio, AudioOptions(chunk_seconds=0.1)), sink))
    kinds = [e.kind for e in events]
    assert kinds.count("transcript") == 2 and kinds.count("barge_in") == 1
    barge = next(e for e in events if e.kind == "barge_in")
    assert abs(barge.at - second) < 0.5
    # the first answer was heard only until the user spoke over it
    full = sum(len(e.samples) for e in events if e.kind == "audio" and e.turn == 1) / tts.sample_rate
    heard = len(sink.turns[0][1][0]) / sink.sample_rate
    assert heard == pytest.approx(float(barge.text), abs=0.01) and 0 < heard < full - 2
    assert loop.context.turns[0].interrupted and not loop.context.turns[1].interrupted
    assert kinds.index("barge_in") < [i for i, k in enumerate(kinds) if k == "transcript"][1]


def test_barge_in_on_a_live_stream_cancels_the_running_answer(
    two_questions: tuple[np.ndarray, float],
) -> None:
    audio, _ = two_questions
    chat = FakeChat("one two three four five six seven eight nine ten " * 20, delay=0.05)
    loop = VoiceLoop(scripted("first question", "second question"), chat, FakeTtsEngine())
    events = list(loop.run(PacedSource(ArraySource(audio, AudioOptions(chunk_seconds=0.1))), TimelineSink()))
    kinds = [e.kind for e in events]
    assert "barge_in" in kinds and kinds.count("transcript") == 2
    first_done = next(e for e in events if e.kind == "turn_done" and e.turn == 1)
    assert len(first_done.text.split()) < 200  # generation stopped early
    assert loop.context.turns[0].interrupted


def test_context_carries_the_previous_turn_into_the_next_prompt() -> None:
    chat = FakeChat("Sure.")
    ctx = ConversationContext()
    ctx.add(Turn("Who sent me the contract?", "Sarah Miller sent it.", (1,), ("Sarah Miller",)))
    loop = VoiceLoop(scripted("Draft a short reply to her."), chat, FakeTtsEngine(), context=ctx)
    events = list(loop.turn(np.zeros(16000, np.float32)))
    assert next(e.text for e in events if e.kind == "resolved") == "her: Sarah Miller (previous turn)"
    sent = chat.seen[0]
    assert [m.role for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[-1].content == "Draft a short reply to her. (her: Sarah Miller)"


@pytest.mark.parametrize(
    "audio", [np.zeros(0, np.float32), np.zeros(32000, np.float32)], ids=["empty", "silence"]
)
def test_no_speech_gives_no_turn(audio: np.ndarray) -> None:
    chat = FakeChat("never")
    loop = VoiceLoop(scripted("invented words"), chat, FakeTtsEngine())
    kinds = [e.kind for e in loop.run(ArraySource(audio), TimelineSink())]
    assert kinds == ["listening", "done"] and chat.seen == []


def test_noise_is_not_speech_in_push_to_talk(tmp_path: Path) -> None:
    from skills.voice import has_speech

    noise = (np.random.default_rng(0).standard_normal(48000) * 0.1).astype(np.float32)
    assert not has_speech(noise)
    chat = FakeChat("never")
    # the real transcriber refuses audio without speech: Whisper would invent words for noise
    loop = VoiceLoop(
        lambda a: "" if not has_speech(a) else "x", chat, FakeTtsEngine(), VoiceOptions(mode="push-to-talk")
    )
    kinds = [e.kind for e in loop.run(ArraySource(noise), TimelineSink())]
    assert kinds == ["listening", "no_speech", "done"] and chat.seen == []


def test_push_to_talk_takes_what_is_heard_between_press_and_release(
    two_questions: tuple[np.ndarray, float],
) -> None:
    import threading

    audio, _ = two_questions
    heard: list[float] = []

    def transcribe(a: np.ndarray) -> str:
        heard.append(len(a) / 16000)
        return "a question"

    chat = FakeChat("An answer.")
    loop = VoiceLoop(transcribe, chat, FakeTtsEngine(), VoiceOptions(mode="push-to-talk"))
    # held from 0.5 s to 1.5 s of the live stream, then nothing is taken until the stream ends
    threading.Timer(0.5, loop.press).start()
    threading.Timer(1.5, loop.release).start()
    kinds = [
        e.kind
        for e in loop.run(
            PacedSource(ArraySource(audio[: 3 * 16000], AudioOptions(chunk_seconds=0.1))), TimelineSink()
        )
    ]
    assert kinds.count("transcript") == 1 and kinds[-1] == "done"
    assert len(heard) == 1 and 0.7 <= heard[0] <= 1.3
