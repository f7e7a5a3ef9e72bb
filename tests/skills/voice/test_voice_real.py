"""The spoken round trip with no fakes: espeak-ng asks, the loop answers aloud from memory into a
WAV, and Whisper hears the answer back."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

import pytest

from runtime.audio import FileSource
from skills.memory.model import Caller
from skills.speech.metrics import wer, words
from skills.voice import SttChoice, TimelineSink, VoiceLoop, VoiceOptions, listen
from skills.voice.context import ConversationContext
from skills.voice.sentences import speakable
from skills.voice.vocabulary import Vocabulary
from tests.skills.voice.helpers import CHAT_MODEL, read_wav, speak

pytestmark = pytest.mark.real_model


def _loop(transcribe: Any, chat: Any, voice: Any, memory: Any) -> VoiceLoop:
    base = VoiceOptions()
    options = replace(base, chat=replace(base.chat, model=CHAT_MODEL))
    caller = Caller.user()
    return VoiceLoop(
        transcribe, chat, voice, options, ConversationContext(memory=memory, caller=caller), caller
    )


def test_spoken_question_gets_a_spoken_answer_from_memory(
    tmp_path: Path, transcribe: Any, hear_back: Any, chat: Any, piper_voice: Any, memory: Any
) -> None:
    question = tmp_path / "question.wav"
    speak("Who sent me the contract?", question)
    loop = _loop(transcribe, chat, piper_voice, memory)
    sink = TimelineSink()
    events = list(loop.run(FileSource(question), sink))
    kinds = [e.kind for e in events]
    assert kinds[0] == "listening" and kinds[-1] == "done"
    transcript = next(e.text for e in events if e.kind == "transcript")
    assert "contract" in words(transcript), transcript
    done = next(e for e in events if e.kind == "turn_done")
    assert "sarah" in words(done.text), done.text
    assert [c.app for c in done.citations] == ["mail"]
    # audio started before the answer was complete: the first sentence is spoken on its own
    first_audio = kinds.index("audio")
    assert "citations" in kinds[first_audio:] and kinds.index("sentence") < first_audio
    stats = done.stats
    assert stats is not None and 0 < stats.eou < 1.0 and stats.voice_to_voice > stats.stt > 0
    answer = sink.save(tmp_path / "answer.wav")
    heard = hear_back(read_wav(answer))
    assert {"sarah", "miller"} & set(words(heard)), heard
    assert wer(speakable(done.text), heard) <= 0.5, (done.text, heard, stats)


def test_follow_up_resolves_her_from_the_previous_turn(
    tmp_path: Path, transcribe: Any, chat: Any, piper_voice: Any, memory: Any
) -> None:
    loop = _loop(transcribe, chat, piper_voice, memory)
    first = list(loop.turn(speak("Who sent me the contract?", tmp_path / "q1.wav")))
    assert any(e.kind == "citations" for e in first)
    second = list(loop.turn(speak("Draft a short reply to her.", tmp_path / "q2.wav")))
    resolved = next(e.text for e in second if e.kind == "resolved")
    assert resolved == "her: Sarah Miller (previous turn)"
    done = next(e for e in second if e.kind == "turn_done")
    assert "sarah" in words(done.text), done.text
    assert loop.context.turns[-2].people == ("Sarah Miller",)


def test_a_name_only_memory_knows_is_heard_with_the_vocabulary_and_answered(
    tmp_path: Path, whisper: Any, chat: Any, piper_voice: Any, memory: Any
) -> None:
    # tiny.en hears "When is yoga with Ingrid?" as "when is yoga winning?" on its own
    caller = Caller.user()
    vocabulary = Vocabulary(memory, caller)
    assert "Ingrid" in vocabulary.text()
    hear = listen(lambda audio, opts: str(whisper.transcribe(audio, opts).text), SttChoice(), vocabulary)
    loop = _loop(hear, chat, piper_voice, memory)
    events = list(loop.turn(speak("When is yoga with Ingrid?", tmp_path / "q.wav")))
    transcript = next(e.text for e in events if e.kind == "transcript")
    assert "ingrid" in words(transcript), transcript
    done = next(e for e in events if e.kind == "turn_done")
    assert "wednesday" in words(done.text), done.text
    assert [c.app for c in done.citations] == ["calendar"], done.citations
    # spoken to the user, with no record header read out ("calendar entry: ...")
    assert "entry" not in words(done.text) and "[" not in speakable(done.text), done.text


def test_long_text_is_spoken_sentence_by_sentence(piper_voice: Any) -> None:
    text = "Good morning. Your first meeting is at ten. Dr. Lima moved lunch to 12.30 pm! Is that fine?"
    chunks = piper_voice.synthesize(text)
    first = next(chunks)  # ready before the rest of the text is synthesised
    assert first.text == "Good morning." and 0.4 < first.duration < 2.0 and first.sample_rate == 22050
    rest = list(chunks)
    assert [c.text for c in rest] == [
        "Your first meeting is at ten.",
        "Dr. Lima moved lunch to 12.30 pm!",
        "Is that fine?",
    ]
    assert all(np.abs(c.samples).max() > 0.1 for c in [first, *rest])
