"""Voice: text to speech, and the spoken conversation loop over speech, chat, memory and a voice.

voice = services.skill("voice")
for chunk in voice.speak("Hello there. How are you?"):      # one chunk per sentence
    play(chunk.samples, chunk.sample_rate)
loop = voice.loop(VoiceOptions(), caller=Caller.user())
for ev in loop.run(FileSource("question.wav"), sink):        # transcript, tokens, audio, citations
    ...
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from runtime.engines.base import SpeechChunk, TtsEngine, TtsOptions
from runtime.engines.piper import DEFAULT_VOICE, hold_voice
from skills.chat import ChatOptions
from skills.host import SkillHost
from skills.voice.context import ConversationContext
from skills.voice.loop import TurnStats, VoiceEvent, VoiceLoop, VoiceOptions
from skills.voice.sinks import SpeakerSink, TimelineSink
from skills.voice.vocabulary import Vocabulary, VocabularyOptions

if TYPE_CHECKING:
    from skills.host import SkillHost

__all__ = [
    "DEFAULT_VOICE",
    "SpeakerSink",
    "SttChoice",
    "TimelineSink",
    "TurnStats",
    "VoiceEvent",
    "VoiceLoop",
    "VoiceOptions",
    "VoiceSkill",
    "Vocabulary",
    "VocabularyOptions",
    "create",
    "find_voice",
    "listen",
]
log = logging.getLogger(__name__)
# base with the vocabulary heard 15 espeak-ng questions at WER 0.07 (tiny.en 0.21) and got 14/15 answers
# right (tiny.en 12/15), for 0.16 s more STT a turn (benchmarks/results/voice*.json)
STT_MODEL = "whisper-base"


@dataclass(frozen=True)
class SttChoice:
    """Which Whisper model transcribes the user, and how.

    vocabulary: condition Whisper on the people, titles and apps of the caller's memory, so names
    it knows are heard as written.
    """

    model: str = STT_MODEL
    beam_size: int = 1
    vocabulary: bool = True
    vocabulary_options: VocabularyOptions = VocabularyOptions()


class VoiceSkill:
    """Speaks text with a held Piper voice and builds conversation loops over the other skills."""

    def __init__(self, services: SkillHost) -> None:
        self.services = services

    def voices(self) -> list[str]:
        """Return the ids of the text-to-speech voices in the catalog or installed."""
        store = self.services.runtime.store
        ids = {m.id for m in store.catalog.values() if "tts" in m.roles}
        ids |= {m.id for m in store.list() if "tts" in m.roles}
        return sorted(ids)

    @contextmanager
    def voice(self, voice_id: str = DEFAULT_VOICE) -> Iterator[TtsEngine]:
        """Hold the voice through the runtime's scheduler for the duration of the block."""
        rt = self.services.runtime
        voices = self.voices()
        found = find_voice(voice_id, voices)
        if found is None:
            from runtime.errors import ModelNotFound

            raise ModelNotFound(
                f"unknown voice {voice_id!r}",
                f"use one of {', '.join(voices)}, or add a Piper voice with `assistant models add voice.onnx`",
                field="voice",
            )
        engine = hold_voice(rt, found)
        try:
            yield engine
        finally:
            rt.release(found)

    def speak(
        self, text: str, voice_id: str = DEFAULT_VOICE, options: TtsOptions = TtsOptions()
    ) -> Iterator[SpeechChunk]:
        """Yield the speech of text, one chunk per sentence, as each is synthesised."""
        with self.voice(voice_id) as engine:
            yield from engine.synthesize(text, options)

    def transcriber(self, choice: SttChoice = SttChoice(), vocabulary: Vocabulary | None = None) -> Any:
        """Return audio -> text over the speech skill; silence and noise give "" (never sent to
        Whisper, which invents words for them). vocabulary: the prompt Whisper is conditioned on
        (see skills/voice/vocabulary.py), when choice.vocabulary is on."""
        speech = self.services.skill("speech")
        return listen(
            lambda audio, opts: str(speech.transcribe(audio, choice.model, opts).text), choice, vocabulary
        )

    @contextmanager
    def loop(
        self,
        options: VoiceOptions = VoiceOptions(),
        caller: Any = None,
        voice_id: str = DEFAULT_VOICE,
        stt: SttChoice = SttChoice(),
    ) -> Iterator[VoiceLoop]:
        """Yield a VoiceLoop on the memory-grounded chat skill, holding the voice meanwhile."""
        chat = self.services.skill("chat")
        memory = getattr(chat, "memory", None)
        if options.chat.model is None:  # the model the role planner picks for spoken turns
            options = replace(
                options, chat=replace(options.chat, model=self.services.runtime.model_for("voice"))
            )
        if options.chat.model is not None:
            with self.services.runtime.scheduler.use(options.chat.model):
                pass  # load the chat model now, so the first answer does not wait for it
            prime(self.services.runtime, options.chat)
        self.services.skill("speech").warm(stt.model)  # and Whisper, for the first question
        has_speech(np.zeros(1600, np.float32))  # and Silero VAD (its first call loads it)
        with self.voice(voice_id) as engine:
            context = ConversationContext(memory=memory, caller=caller)
            vocabulary = Vocabulary(memory, caller, stt.vocabulary_options)
            yield VoiceLoop(self.transcriber(stt, vocabulary), chat, engine, options, context, caller)


def listen(
    whisper: Callable[[np.ndarray, Any], str],
    choice: SttChoice = SttChoice(),
    vocabulary: Vocabulary | None = None,
) -> Callable[[np.ndarray], str]:
    """Return the voice loop's audio -> text over whisper(audio, SttOptions): short-window greedy
    decoding in English, conditioned on the vocabulary prompt; "" for audio without speech."""
    from runtime.engines.whisper import SttOptions

    opts = SttOptions(
        language="en", window="short", min_window=10.0, beam_size=choice.beam_size, word_timestamps=False
    )
    words = vocabulary if choice.vocabulary else None

    def transcribe(audio: np.ndarray) -> str:
        if len(audio) < 1600 or not has_speech(audio):
            return ""
        prompt = words.text() if words is not None else ""
        return whisper(audio, replace(opts, prompt=prompt or None))

    return transcribe


def prime(runtime: Any, chat: ChatOptions) -> None:
    """Evaluate the chat prompt's fixed part (the spoken rules and examples) once, so the engine's
    prefix cache holds it and the first question pays only for its own facts (without this the first
    spoken answer of a session took 2-6 s longer to start)."""
    if chat.prompt is None or chat.model is None:
        return
    from runtime.engines.base import ChatMessage, GenerationOptions

    messages = chat.prompt([ChatMessage("user", "Hello?")], [], time.time())
    try:
        for _ in runtime.chat(messages, GenerationOptions(max_tokens=1, temperature=0.0), model=chat.model):
            pass
    except Exception as exc:  # a cold cache is slower, never a failed loop
        log.warning("could not prime the voice prompt: %s", exc)


def find_voice(name: str, voices: Sequence[str]) -> str | None:
    """Return the voice id name means, whatever its case (`models add en_US-amy-low.onnx` installs
    it as en_us-amy-low, and apps use the file's spelling); None when no voice has that id."""
    return {v.lower(): v for v in voices}.get(name.lower())


def has_speech(audio: np.ndarray) -> bool:
    """Whether Silero VAD finds any speech in 16 kHz audio."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return bool(get_speech_timestamps(np.asarray(audio, np.float32), VadOptions()))


def create(services: SkillHost) -> VoiceSkill:
    """Build the voice skill over the services' runtime and skills."""
    return VoiceSkill(services)
