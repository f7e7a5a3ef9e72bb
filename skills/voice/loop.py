"""The spoken conversation loop: audio in -> end of utterance -> speech to text -> memory-grounded
chat -> speech, sentence by sentence while the model is still writing.

One turn is `VoiceLoop.turn(audio)`; a stream of turns is `VoiceLoop.run(source, sink)`. Both
yield VoiceEvents (transcript, tokens, sentences, audio, citations, barge-in, stats) for any front
end to show. Speech is synthesised on its own thread, so the model keeps generating while the
first sentence is being spoken.

Barge-in: when the user starts speaking while an answer is being generated or played, the answer
stops where it is (generation cancelled, playback cut) and the new utterance is taken. Recorded
and piped audio are timed on the input's own clock, so barge-in on a recording is repeatable.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Literal, Protocol, Sequence

import numpy as np

from runtime.audio import AudioSource
from runtime.engines.base import CancelToken, ChatMessage, GenerationOptions, TtsEngine, TtsOptions
from skills.chat import ChatAnswer, ChatOptions, Citation
from skills.voice.context import ConversationContext, Turn, with_resolution
from skills.voice.prompt import spoken_prompt
from skills.voice.sentences import SentenceBuffer
from skills.voice.sinks import AudioSink
from skills.voice.utterance import UtteranceDetector, UtteranceEvent, UtteranceOptions

Mode = Literal["hands-free", "push-to-talk"]
EventKind = Literal[
    "listening",
    "speech_start",
    "utterance",
    "transcript",
    "resolved",
    "token",
    "sentence",
    "audio",
    "citations",
    "barge_in",
    "no_speech",
    "turn_done",
    "done",
]
# short, and no persona to repeat: small models echo a "You are ..." line back as their answer
SYSTEM = "Answers are read aloud: one or two short sentences, no lists, markdown or code."


class ChatStreamer(Protocol):
    """The chat skill's streaming call: yields text, returns a ChatAnswer."""

    def stream(
        self,
        messages: Sequence[ChatMessage],
        caller: Any = ...,
        options: ChatOptions = ...,
        cancel: CancelToken | None = ...,
    ) -> Iterator[str]: ...


Transcribe = Callable[[np.ndarray], str]
"""16 kHz float32 audio -> what was said ("" for no speech)."""


@dataclass(frozen=True)
class VoiceOptions:
    """How the loop listens, answers and speaks.

    mode: "hands-free" finds utterances with VAD; "push-to-talk" takes what is heard between
        press() and release() (a file or pipe without presses is one utterance).
    barge_in: speech during an answer stops it and takes the new utterance; without it the loop
        is half duplex: speech that starts while an answer is written or played is not taken
        (what speakers need without headphones: there is no echo cancellation).
    """

    mode: Mode = "hands-free"
    utterance: UtteranceOptions = UtteranceOptions()
    chat: ChatOptions = ChatOptions(
        generation=GenerationOptions(max_tokens=96, temperature=0.0, truncation="truncate_start"),
        prompt=spoken_prompt,  # records as plain facts, one sentence to the user (skills/voice/prompt.py)
    )
    tts: TtsOptions = TtsOptions()
    system: str = SYSTEM
    barge_in: bool = True


@dataclass(frozen=True)
class TurnStats:
    """Where one turn's voice-to-voice latency went, in seconds.

    eou: end of speech -> end of utterance detected; stt: transcription; prompt: transcript ->
    first answer token (memory lookup and prompt evaluation); first_sentence: first token -> first
    sentence complete; tts: first sentence -> its audio; voice_to_voice: end of speech -> first
    audio sample (the sum). answer_audio: seconds of answer audio.
    """

    eou: float
    stt: float
    prompt: float
    first_sentence: float
    tts: float
    voice_to_voice: float
    answer_audio: float
    tts_compute: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class VoiceEvent:
    """One thing that happened; `at` is seconds on the input's clock where that applies."""

    kind: EventKind
    turn: int = 0
    text: str = ""
    at: float = 0.0
    samples: np.ndarray | None = field(default=None, repr=False)
    sample_rate: int = 0
    citations: tuple[Citation, ...] = ()
    stats: TurnStats | None = None


class VoiceLoop:
    """Turns spoken questions into spoken, memory-grounded answers, keeping context across turns."""

    def __init__(
        self,
        transcribe: Transcribe,
        chat: ChatStreamer,
        tts: TtsEngine,
        options: VoiceOptions = VoiceOptions(),
        context: ConversationContext | None = None,
        caller: Any = None,
    ) -> None:
        self.transcribe = transcribe
        self.chat = chat
        self.tts = tts
        self.options = options
        self.caller = caller
        self.context = context or ConversationContext(caller=caller)
        self._turns = 0
        self._talking = threading.Event()
        self._released = threading.Event()
        self._stopping = CancelToken()
        self._worker: _Worker | None = None  # the live turn in progress, for stop()
        self._overheard = False  # the utterance under way began while an answer played (half duplex)

    # -- stopping ----------------------------------------------------------------------------------
    def stop(self) -> None:
        """End run() from any thread: the answer in progress is cancelled (generation and speech),
        playback is cut, and nothing still buffered is taken as a last utterance."""
        self._stopping.cancel()
        if self._worker is not None:
            self._worker.cancel()

    @property
    def stopped(self) -> bool:
        return self._stopping.cancelled

    # -- push to talk ------------------------------------------------------------------------------
    def press(self) -> None:
        """Push-to-talk: start taking the user's audio."""
        self._released.clear()
        self._talking.set()

    def release(self) -> None:
        """Push-to-talk: the utterance is complete."""
        self._talking.clear()
        self._released.set()

    # -- one turn ----------------------------------------------------------------------------------
    def turn(
        self,
        audio: np.ndarray,
        sink: AudioSink | None = None,
        speech_end: float = 0.0,
        detected: float = 0.0,
        cancel: CancelToken | None = None,
    ) -> Iterator[VoiceEvent]:
        """Answer one utterance aloud; yield its events. speech_end/detected place it on the input
        clock (for the latency split and barge-in); the answer audio goes to sink."""
        self._turns += 1
        n = self._turns
        cancel = cancel or CancelToken()
        t0 = time.perf_counter()
        text = self.transcribe(np.asarray(audio, np.float32)).strip()
        t_stt = time.perf_counter()
        if not any(c.isalnum() for c in text):
            yield VoiceEvent("no_speech", n, at=detected)
            return
        yield VoiceEvent("transcript", n, text, at=detected)
        resolution = self.context.resolve(text)
        if resolution is not None:
            yield VoiceEvent(
                "resolved", n, f"{resolution.pronoun}: {resolution.person} ({resolution.source})"
            )
        messages = [
            *self.context.messages(self.options.system),
            ChatMessage("user", with_resolution(text, resolution)),
        ]
        speaker = _Speaker(self.tts, self.options.tts, sink, detected, t0, cancel, n)
        stream = self.chat.stream(messages, self.caller, self.options.chat, cancel)
        buffer = SentenceBuffer()
        parts: list[str] = []
        t_first_token: float | None = None
        answer: ChatAnswer | None = None
        try:
            while True:
                try:
                    piece = next(stream)
                except StopIteration as stop:
                    answer = stop.value
                    break
                if t_first_token is None:
                    t_first_token = time.perf_counter()
                parts.append(piece)
                yield VoiceEvent("token", n, piece)
                for sentence in buffer.feed(piece):
                    speaker.say(sentence)
                yield from speaker.events()
            if not cancel.cancelled:
                for sentence in buffer.flush():
                    speaker.say(sentence)
            yield from speaker.finish()
        finally:
            speaker.stop()
        full = answer.text if answer is not None else "".join(parts)
        citations = answer.citations if answer is not None else ()
        if citations:
            yield VoiceEvent("citations", n, "\n".join(c.line() for c in citations), citations=citations)
        ids = tuple(c.id for c in citations)
        self.context.add(Turn(text, full, ids, self.context.people_of(ids), interrupted=cancel.cancelled))
        first_audio = speaker.first_audio or time.perf_counter()
        first_sentence = speaker.first_sentence or first_audio
        ttft = t_first_token or first_sentence
        eou = max(0.0, detected - speech_end)
        stats = TurnStats(
            eou=eou,
            stt=t_stt - t0,
            prompt=ttft - t_stt,
            first_sentence=max(0.0, first_sentence - ttft),
            tts=max(0.0, first_audio - first_sentence),
            voice_to_voice=eou + (first_audio - t0),
            answer_audio=speaker.audio_seconds,
            tts_compute=speaker.compute_seconds,
        )
        yield VoiceEvent("turn_done", n, full, at=detected, citations=citations, stats=stats)

    # -- a stream of turns -------------------------------------------------------------------------
    def run(self, source: AudioSource, sink: AudioSink) -> Iterator[VoiceEvent]:
        """Listen to source and answer each utterance into sink until the source ends or stop()."""
        yield VoiceEvent("listening")
        if self.options.mode == "push-to-talk":
            yield from self._run_ptt(source, sink)
        else:
            yield from self._run_hands_free(source, sink)
        yield VoiceEvent("done", self._turns)

    def _run_hands_free(self, source: AudioSource, sink: AudioSink) -> Iterator[VoiceEvent]:
        detector = UtteranceDetector(self.options.utterance)
        worker = self._worker = _Worker() if source.realtime else None
        for chunk in source.chunks():
            if self.stopped:
                break
            for ev in detector.feed(chunk):
                yield from self._on_utterance_event(ev, sink, worker)
            if worker is not None:
                yield from worker.events()
        if self.stopped:
            if worker is not None:
                worker.cancel()
            sink.stop(detector.time)
        else:
            for ev in detector.flush():
                yield from self._on_utterance_event(ev, sink, worker)
        if worker is not None:
            yield from worker.join()

    def _on_utterance_event(
        self, ev: UtteranceEvent, sink: AudioSink, worker: _Worker | None
    ) -> Iterator[VoiceEvent]:
        if ev.kind == "start":
            busy = worker is not None and worker.busy
            if not self.options.barge_in and (busy or sink.playing(ev.at)):
                # half duplex: what is heard while the answer is written or played is dropped (on
                # speakers without echo cancellation, that is the answer itself coming back)
                self._overheard = True
                return
            yield VoiceEvent("speech_start", self._turns + 1, at=ev.at)
            if self.options.barge_in and (busy or sink.playing(ev.at)):
                if worker is not None:
                    worker.cancel()
                heard = sink.stop(ev.at)
                self._mark_interrupted()
                yield VoiceEvent("barge_in", self._turns, f"{heard:.2f}", at=ev.at)
            return
        if self._overheard:
            self._overheard = False
            return
        audio = ev.audio if ev.audio is not None else np.zeros(0, np.float32)
        yield VoiceEvent("utterance", self._turns + 1, f"{ev.speech_end - ev.speech_start:.2f}", at=ev.at)
        if worker is None:
            yield from self.turn(audio, sink, ev.speech_end, ev.at, self._stopping)
        else:
            if worker.busy:
                worker.cancel()
                yield from worker.join()
            worker.start(lambda cancel: self.turn(audio, sink, ev.speech_end, ev.at, cancel))

    def _run_ptt(self, source: AudioSource, sink: AudioSink) -> Iterator[VoiceEvent]:
        # a recording without presses is one utterance; live audio counts only while pressed
        held: list[np.ndarray] = []
        clock = 0.0
        pressed_any = False
        for chunk in source.chunks():
            if self.stopped:
                sink.stop(clock)
                return
            clock += len(chunk) / 16000
            if self._talking.is_set() or not source.realtime:
                pressed_any = pressed_any or self._talking.is_set()
                if not held and sink.playing(clock) and self.options.barge_in:
                    heard = sink.stop(clock)
                    self._mark_interrupted()
                    yield VoiceEvent("barge_in", self._turns, f"{heard:.2f}", at=clock)
                held.append(chunk)
            elif self._released.is_set() and held:
                self._released.clear()
                yield from self.turn(np.concatenate(held), sink, clock, clock, self._stopping)
                held = []
        if held:
            yield from self.turn(np.concatenate(held), sink, clock, clock)
        elif not pressed_any and not source.realtime:
            yield VoiceEvent("no_speech", self._turns, at=clock)

    def _mark_interrupted(self) -> None:
        if self.context.turns:
            self.context.turns[-1] = replace(self.context.turns[-1], interrupted=True)


class _Speaker:
    """Synthesises sentences on its own thread, in order, writing audio to the sink and queueing
    events for the turn to yield between tokens."""

    def __init__(
        self,
        tts: TtsEngine,
        options: TtsOptions,
        sink: AudioSink | None,
        detected: float,
        t0: float,
        cancel: CancelToken,
        turn: int,
    ) -> None:
        self.tts, self.options, self.sink, self.cancel, self.turn = tts, options, sink, cancel, turn
        self.detected, self.t0 = detected, t0
        self.first_sentence: float | None = None
        self.first_audio: float | None = None
        self.audio_seconds = 0.0
        self.compute_seconds = 0.0
        self._todo: queue.Queue[str | None] = queue.Queue()
        self._out: queue.Queue[VoiceEvent | BaseException | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="voice-tts", daemon=True)
        self._thread.start()

    def say(self, sentence: str) -> None:
        if self.first_sentence is None:
            self.first_sentence = time.perf_counter()
        self._todo.put(sentence)

    def _work(self) -> None:
        try:
            while (sentence := self._todo.get()) is not None:
                if self.cancel.cancelled:
                    continue
                self._out.put(VoiceEvent("sentence", self.turn, sentence))
                for chunk in self.tts.synthesize(sentence, self.options):
                    if self.cancel.cancelled:
                        break
                    self.compute_seconds += chunk.seconds
                    if self.first_audio is None:
                        self.first_audio = time.perf_counter()
                        if self.sink is not None:  # playback starts once the first audio exists
                            self.sink.begin(self.detected + self.first_audio - self.t0)
                    if self.sink is not None:
                        self.sink.write(chunk.samples, chunk.sample_rate)
                    self.audio_seconds += chunk.duration
                    self._out.put(
                        VoiceEvent(
                            "audio",
                            self.turn,
                            chunk.text,
                            samples=chunk.samples,
                            sample_rate=chunk.sample_rate,
                        )
                    )
        except BaseException as exc:  # handed to the turn's thread, which raises it
            self._out.put(exc)
        finally:
            self._out.put(None)

    def events(self) -> Iterator[VoiceEvent]:
        """Yield what is ready now."""
        while True:
            try:
                item = self._out.get_nowait()
            except queue.Empty:
                return
            if item is None:
                self._out.put(None)  # keep the end marker for finish()
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def finish(self) -> Iterator[VoiceEvent]:
        """Yield the rest once every sentence is spoken."""
        self._todo.put(None)
        while (item := self._out.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    def stop(self) -> None:
        self._todo.put(None)
        self._thread.join(timeout=30)


class _Worker:
    """Runs one turn at a time on a thread for live sources, so listening (and barge-in) goes on."""

    def __init__(self) -> None:
        self._out: queue.Queue[VoiceEvent | BaseException | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._cancel = CancelToken()

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, turn: Callable[[CancelToken], Iterator[VoiceEvent]]) -> None:
        self._cancel = CancelToken()
        cancel = self._cancel

        def work() -> None:
            try:
                for ev in turn(cancel):
                    self._out.put(ev)
            except BaseException as exc:
                self._out.put(exc)

        self._thread = threading.Thread(target=work, name="voice-turn", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.cancel()

    def events(self) -> Iterator[VoiceEvent]:
        while True:
            try:
                item = self._out.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, BaseException):
                raise item
            if item is not None:
                yield item

    def join(self) -> Iterator[VoiceEvent]:
        if self._thread is not None:
            self._thread.join()
        yield from self.events()
