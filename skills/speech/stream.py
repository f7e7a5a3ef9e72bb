"""Streaming captions: VAD-gated passes of Whisper over a growing buffer, committed by
LocalAgreement-2, translated sentence by sentence, adapting when compute falls behind.

Clock: `now` is the stream's wall clock in seconds since it began (audio time 0). A pass that
starts at `now` emits its events at `now + compute`; lag = emission time - audio time of the text.
Live drivers pass real time; `simulate` feeds a file as a real-time source would, without sleeping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Iterator, Literal, Sequence

import numpy as np

from runtime.audio import AudioSource
from runtime.engines.whisper import SAMPLE_RATE, SpeechEngine, SttOptions, Task, Window, Word
from skills.speech.agreement import HypothesisBuffer
from skills.speech.vad import SileroGate

EventKind = Literal["partial", "committed", "translated", "adapted"]


@dataclass(frozen=True)
class StreamOptions:
    """How to caption a stream.

    model: store id of the Whisper model.
    language: spoken language (None: English for .en models, detected otherwise).
    task: "translate" makes Whisper emit English whatever is spoken.
    translate_to: a language the committed English/source text is then translated into.
    step: seconds of new audio between passes; grows when compute falls behind. Measured on
        espeak-ng speech with tiny.en, 2 s passes halve the compute of 1 s passes and commit
        fewer misheard words (two 1 s passes agree on a wrong tail word more often).
    first_step: the shorter step used until an utterance's first words commit, so the first
        partial and committed captions come quickly after speech onset.
    beam_size: decoder beam; dropped to 1 when behind. 5, as offline transcribe uses: on a 198 s
        espeak-ng recording with tiny.en (benchmarks/results/speech_variants.json), streaming WER
        was 0.097 with beam 5, 0.126 with beam 2 and 0.161 with beam 1 (offline 0.103), at a
        real-time factor of 0.32, 0.25 and 0.25.
    buffer_seconds: once the audio window is longer than this, it is trimmed at the end of the
        last committed sentence.
    max_buffer: with no committed sentence end to cut at, a window longer than this is trimmed at
        the last committed word. On espeak-ng speech with tiny.en, letting windows grow to 15 s
        (with end_silence 0.45) made Whisper drop whole sentences (WER 0.23 vs 0.11, one run on
        a simulated clock), so it defaults to buffer_seconds.
    max_lag: hard bound in seconds; older unprocessed audio is skipped (and reported) past it.
    vad: gate passes with Silero VAD (no passes on silence or noise).
    end_silence: seconds of non-speech that end an utterance and commit its pending words.
    smaller_models: ids to switch to, in order, when still behind with the largest step.
    window: "short" encodes only the buffered audio each pass (see SttOptions.window);
        "padded" is faster-whisper's 30 s window, 3-5x costlier per pass on a CPU.
    min_window: seconds a short window is padded up to.
    pad_after: seconds of padding after the audio in a short window (see SttOptions).
    recover_below: an adaptation is undone (smaller step, beam back) once the compute ratio,
        scaled by what undoing it would cost, falls below this: a transient load spike must not
        degrade the rest of a long stream.
    pause_pass: also run a pass as soon as end_silence follows speech, not only at the next step,
        committing the utterance sooner. Off by default: on espeak-ng speech with tiny.en it changed
        nothing with end_silence 0.7 (its sentence pauses are ~0.5 s) and with 0.45 the WER was
        0.127 vs 0.111 (simulated clock, one run).
    prompt_chars: characters of committed text before the buffer passed as the decoder prompt
        (0: none, the default). Measured on espeak-ng speech with tiny.en (simulated clocks, one
        run each): with the irregular pass schedule of a loaded machine a 200-character prompt
        raised the WER from 0.16 to 0.23, as a misheard phrase in the prompt is repeated by later
        passes; with a steady schedule it lowered it from 0.13 to 0.11. With the current commit
        policy and beam 5 (speech_variants.json) it raised it from 0.097 to 0.127. Offline
        transcribe does not condition on earlier text either.
    """

    model: str = "whisper-tiny.en"
    language: str | None = None
    task: Task = "transcribe"
    translate_to: str | None = None
    step: float = 2.0
    first_step: float = 1.0
    max_step: float = 4.0
    beam_size: int = 5
    buffer_seconds: float = 10.0
    max_buffer: float = 10.0
    max_lag: float = 8.0
    vad: bool = True
    vad_threshold: float = 0.5
    end_silence: float = 0.7
    adapt: bool = True
    smaller_models: tuple[str, ...] = ()
    window: Window = "short"
    min_window: float = 5.0
    pad_after: float = 2.0
    recover_below: float = 0.6
    prompt_chars: int = 0
    pause_pass: bool = False


@dataclass(frozen=True)
class CaptionEvent:
    """One caption update. start/end are audio seconds; lag and rtf are as of emission.

    partial: the uncommitted tail, replaced by the next partial.
    committed: new final words, appended, never rewritten.
    translated: a committed sentence in the target language.
    adapted: the stream changed settings to keep up; `note` says what and why.
    """

    kind: EventKind
    text: str
    start: float
    end: float
    lag: float
    rtf: float
    emitted_at: float
    language: str | None = None
    note: str = ""


Translate = Callable[[str, str], str]  # (text, source language) -> text in the target language


class StreamingTranscriber:
    """Push audio with feed(); get caption events back. One instance per stream, one thread."""

    def __init__(
        self,
        engine_for: Callable[[str], SpeechEngine],
        options: StreamOptions = StreamOptions(),
        translate: Translate | None = None,
        release: Callable[[str, SpeechEngine], None] | None = None,
    ) -> None:
        self.options = options
        self._engine_for = engine_for
        self._release = release  # hands each engine back at close() (engines held from a runtime)
        self._held: list[tuple[str, SpeechEngine]] = []
        self.engine = self.engine_for(options.model)
        self.translate = translate
        self.step = options.step
        self.beam = options.beam_size
        self.smaller = list(options.smaller_models)
        self.hyp = HypothesisBuffer()
        self.gate = SileroGate(options.vad_threshold) if options.vad else None
        self.audio = np.zeros(0, dtype=np.float32)
        self.offset = 0.0  # audio time of self.audio[0]
        self.received = 0  # samples since the stream began
        self.processed_to = 0.0  # audio time the last pass covered
        self.clock = 0.0
        self.rtf = 0.0
        self.compute = 0.0  # total compute seconds
        self.committed: list[Word] = []
        self.sentence: list[Word] = []
        self.language: str | None = options.language
        self._cooldown = 0
        self.passes = 0
        self._pause_seen = 0.0  # end of the last speech a pause-triggered pass has finalised
        self._undo: list[tuple[str, float]] = []  # (setting, value before) of each adaptation, newest last
        self._utterance_open = False
        self._utterance_committed = False  # words of the current utterance have committed

    def engine_for(self, model_id: str) -> SpeechEngine:
        """Return the engine for model_id, remembered so that close() can hand it back."""
        engine = self._engine_for(model_id)
        self._held.append((model_id, engine))
        return engine

    def close(self) -> None:
        """Hand the engines back (called by finish(); call it when a stream is abandoned)."""
        held, self._held = self._held, []
        if self._release is not None:
            for model_id, engine in held:
                self._release(model_id, engine)

    @property
    def audio_time(self) -> float:
        return self.received / SAMPLE_RATE

    def feed(self, chunk: np.ndarray, now: float | None = None) -> list[CaptionEvent]:
        """Add audio that became available at `now` (default: its own end time); maybe run a pass."""
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        self.audio = np.concatenate([self.audio, chunk])
        self.received += len(chunk)
        if self.gate is not None:
            self.gate.feed(chunk)
        self.clock = max(self.clock, self.audio_time if now is None else now)
        events = self._bound_lag()
        step = self.step if self._utterance_committed else min(self.step, self.options.first_step)
        if self.audio_time - self.processed_to >= step - 1e-9 or self._paused():
            events += self._pass()
        return events

    def _paused(self) -> bool:
        """Whether speech not yet finalised has just been followed by end_silence of non-speech."""
        if self.gate is None or not self.options.pause_pass:
            return False
        last = self.gate.last_speech()
        if last is None or last <= self._pause_seen or self.audio_time - last < self.options.end_silence:
            return False
        self._pause_seen = last
        return True

    def finish(self) -> list[CaptionEvent]:
        """End of stream: a last pass over unheard audio, then commit everything pending."""
        events: list[CaptionEvent] = []
        if self.audio_time > self.processed_to + 0.05:
            events += self._pass(final=True)
        events += self._commit(self.hyp.flush(), final=True)
        self.close()
        return events

    # -- one pass ------------------------------------------------------------------------------
    def _pass(self, final: bool = False) -> list[CaptionEvent]:
        o = self.options
        end = self.audio_time
        new_from = self.processed_to
        self.processed_to = end
        events: list[CaptionEvent] = []
        if self.gate is not None:
            if not self.gate.speech_between(self.offset, end):
                # silence or noise only: no pass (nothing to invent), keep a little audio as onset context
                events += self._commit(self.hyp.flush(), final=True)
                self._utterance_committed = False
                self._cut(max(self.offset, end - 0.5))
                return events
            last = self.gate.last_speech() or 0.0
            ended = end - last >= o.end_silence
            if ended and last <= new_from and not self._utterance_open and not self.hyp.pending():
                self._cut(max(self.offset, end - 0.5))
                return events
        else:
            ended = False
        heard_before = " ".join(w.text.strip() for w in self.committed if w.end <= self.offset)
        prompt = heard_before[-o.prompt_chars :] if o.prompt_chars else ""
        result = self.engine.transcribe(
            self.audio,
            SttOptions(
                language=self.language,
                task=o.task,
                beam_size=self.beam,
                prompt=prompt or None,
                window=o.window,
                min_window=o.min_window,
                pad_after=o.pad_after,
            ),
        )
        if self.language is None and self.engine.multilingual and result.words:
            self.language = result.language  # detect once, then keep it: re-detection flickers
        self.compute += result.seconds
        self.passes += 1
        self.clock += result.seconds
        # compute per pass over the audio each pass stands for: at least a full step, so the
        # quicker passes at an utterance's start (first_step) do not read as falling behind
        heard = max(end - new_from, self.step, 1e-3)
        inst = result.seconds / heard
        self.rtf = inst if self.rtf == 0 else 0.7 * self.rtf + 0.3 * inst
        words = [
            Word(w.start + self.offset, w.end + self.offset, w.text, w.probability) for w in result.words
        ]
        # a long buffer sometimes decodes to a word or two (tiny.en, beam 1, under load); taking
        # that as the hypothesis discards every pending word, so such a pass is ignored
        new = [] if not final and self._collapsed(words) else self.hyp.insert(words)
        self._utterance_committed = self._utterance_committed or bool(new)
        events += self._commit(new)
        self._utterance_open = bool(self.hyp.pending())
        if ended or final:
            events += self._commit(self.hyp.flush(), final=True)
            self._utterance_open = False
            self._utterance_committed = False
            if ended:
                self._cut(max(self.offset, end - 0.3))
        events += self._trim()
        pending = self.hyp.pending()
        if pending:
            events.append(self._event("partial", pending))
        if o.adapt:
            events += self._adapt()
        return events

    def _collapsed(self, words: Sequence[Word]) -> bool:
        """Whether a pass heard much less than the previous one over the same, longer audio."""
        before = self.hyp.pending()
        if len(before) < 4:
            return False
        covered = words[-1].end if words else self.offset
        return covered < before[-1].end - 1.0 and len(words) < len(before) // 2

    def _commit(self, words: Sequence[Word], final: bool = False) -> list[CaptionEvent]:
        events: list[CaptionEvent] = []
        if words:
            self.committed.extend(words)
            events.append(self._event("committed", words))
            self.sentence.extend(words)
        if self.translate is not None and self.sentence:
            text = "".join(w.text for w in self.sentence).strip()
            if final or re.search(r"[.!?…]$", text):
                events.append(self._translated(text))
        elif self.translate is None:
            self.sentence.clear()
        return events

    def _translated(self, text: str) -> CaptionEvent:
        assert self.translate is not None
        source = "en" if self.options.task == "translate" else (self.language or "en")
        out = self.translate(text, source)
        words, self.sentence = self.sentence, []
        return CaptionEvent(
            "translated",
            out,
            words[0].start,
            words[-1].end,
            self.clock - words[-1].end,
            self.rtf,
            self.clock,
            self.options.translate_to,
        )

    def _event(self, kind: EventKind, words: Sequence[Word]) -> CaptionEvent:
        text = "".join(w.text for w in words)
        if kind == "committed" and self.committed[: -len(words)]:
            text = text if text.startswith(" ") else " " + text
        return CaptionEvent(
            kind,
            text,
            words[0].start,
            words[-1].end,
            max(0.0, self.clock - words[-1].end),
            self.rtf,
            self.clock,
            self.language,
        )

    # -- buffer, adaptation and lag ------------------------------------------------------------
    def _cut(self, t: float) -> None:
        n = int(round((t - self.offset) * SAMPLE_RATE))
        if n > 0:
            self.audio = self.audio[n:]
            self.offset += n / SAMPLE_RATE

    def _trim(self) -> list[CaptionEvent]:
        """Shorten a long buffer at committed words; return the events of any words it forces out."""
        events: list[CaptionEvent] = []
        length = len(self.audio) / SAMPLE_RATE
        if length <= self.options.buffer_seconds:
            return events
        # cut after a committed sentence: a buffer that starts mid-sentence (or mid-word, as word
        # times are approximate) makes Whisper skip or mishear its first words
        ends = [
            w.end for w in self.committed[-40:] if w.end > self.offset + 1.0 and re.search(r"[.!?…]$", w.text)
        ]
        if ends:
            self._cut(ends[-1])
        elif length > self.options.max_buffer and self.hyp.last_committed_end > self.offset:
            self._cut(self.hyp.last_committed_end)
        if len(self.audio) / SAMPLE_RATE > self.options.max_buffer + 2 * self.step:
            # passes keep disagreeing, so nothing commits and the buffer grows until Whisper
            # degrades: commit the latest pass's words that have a step of audio after them, and
            # cut there, not at the buffer end, so no heard word is dropped
            pending = self.hyp.pending()
            stable = [w for w in pending if w.end <= self.audio_time - self.step]
            if stable:
                events += self._commit(self.hyp.take(len(stable)), final=True)
                self._cut(stable[-1].end)
            elif len(self.audio) / SAMPLE_RATE > 2 * self.options.max_buffer:
                # nothing heard at all for a long time (e.g. a monotone drone): move on
                events += self._commit(self.hyp.flush(), final=True)
                self._cut(self.audio_time - self.step)
        return events

    def _adapt(self) -> list[CaptionEvent]:
        o = self.options
        if self._cooldown > 0:
            self._cooldown -= 1
            return []
        behind = self.clock - self.audio_time  # how long after the audio the captions appear
        why = f"compute/real-time ratio {self.rtf:.2f}, captions {behind:.1f} s behind"
        if self.rtf <= 0.8 and behind <= o.max_lag / 2:
            return self._recover(behind, why)
        if self.passes < 3 and behind <= o.max_lag / 2:
            return []  # one slow pass at the start (cold caches, a short first step) is not falling behind
        if self.beam > 1:
            self._undo.append(("beam", self.beam))
            self.beam, note = 1, f"skipping the beam search (beam 1): {why}"
        elif self.step < o.max_step:
            self._undo.append(("step", self.step))
            self.step = min(o.max_step, self.step * 2)
            note = f"bigger chunks ({self.step:.1f} s between passes): {why}"
        elif self.smaller:
            new = self.smaller.pop(0)
            self.engine = self.engine_for(new)
            self._undo.clear()  # a smaller model is kept: switching back would reload, and thrash
            note = f"switched to the smaller model {new}: {why}"
        else:
            return []
        self._cooldown = 2
        return [self._adapted(behind, note)]

    def _recover(self, behind: float, why: str) -> list[CaptionEvent]:
        """Undo the newest adaptation once compute has room for it again (load spikes pass)."""
        if not self._undo or behind > 1.0:
            return []
        setting, value = self._undo[-1]
        # undoing a bigger step multiplies the passes per second; the beam costs about a third more
        cost = self.step / value if setting == "step" else 1.35
        if self.rtf * cost >= self.options.recover_below:
            return []
        self._undo.pop()
        if setting == "step":
            self.step, note = value, f"back to {value:.1f} s between passes: {why}"
        else:
            self.beam, note = int(value), f"back to beam {int(value)}: {why}"
        self._cooldown = 2
        return [self._adapted(behind, note)]

    def _adapted(self, behind: float, note: str) -> CaptionEvent:
        return CaptionEvent(
            "adapted",
            "",
            self.processed_to,
            self.processed_to,
            behind,
            self.rtf,
            self.clock,
            self.language,
            note,
        )

    def _bound_lag(self) -> list[CaptionEvent]:
        unheard = self.audio_time - self.processed_to
        if unheard <= self.options.max_lag:
            return []
        skip_to = self.audio_time - self.step
        events = self._commit(self.hyp.flush(), final=True)
        self._cut(max(self.offset, skip_to))
        skipped = skip_to - self.processed_to
        self.processed_to = skip_to
        return events + [
            CaptionEvent(
                "adapted",
                "",
                skip_to - skipped,
                skip_to,
                unheard,
                self.rtf,
                self.clock,
                self.language,
                f"skipped {skipped:.1f} s of audio to keep the lag under {self.options.max_lag:.0f} s",
            )
        ]

    def stats(self) -> dict[str, float]:
        """Return totals: audio seconds, compute seconds and the overall real-time factor."""
        t = self.audio_time
        return {"audio_seconds": t, "compute_seconds": self.compute, "rtf": self.compute / t if t else 0.0}


def simulate(transcriber: StreamingTranscriber, source: AudioSource) -> Iterator[CaptionEvent]:
    """Feed a non-real-time source as if it arrived in real time, with a simulated clock: while a
    pass computes, the chunks that would have arrived meanwhile queue up and are fed together."""
    pending: list[np.ndarray] = []
    t = 0.0
    for chunk in source.chunks():
        t += len(chunk) / SAMPLE_RATE
        pending.append(chunk)
        if transcriber.clock <= t + 1e-9:
            yield from transcriber.feed(np.concatenate(pending), now=t)
            pending = []
    if pending:
        yield from transcriber.feed(np.concatenate(pending), now=max(t, transcriber.clock))
    yield from transcriber.finish()


def live(transcriber: StreamingTranscriber, source: AudioSource) -> Iterator[CaptionEvent]:
    """Feed a real-time source (microphone, pipe): a reader thread queues chunks, and each pass
    takes everything that arrived while the previous one ran."""
    import queue
    import threading
    import time

    q: queue.Queue[np.ndarray | None] = queue.Queue()
    error: list[BaseException] = []

    def reader() -> None:
        try:
            for c in source.chunks():
                q.put(c)
        except BaseException as e:  # re-raised in the consuming thread
            error.append(e)
        finally:
            q.put(None)

    threading.Thread(target=reader, daemon=True, name="audio-reader").start()
    t0 = time.perf_counter()
    done = False
    while not done:
        chunks = [q.get()]
        while not q.empty():
            chunks.append(q.get_nowait())
        if chunks[-1] is None:
            done = True
        got = [c for c in chunks if c is not None]
        if got:
            yield from transcriber.feed(np.concatenate(got), now=time.perf_counter() - t0)
    if error:
        raise error[0]
    yield from transcriber.finish()


def with_options(options: StreamOptions, **changes: object) -> StreamOptions:
    """Return a copy of options with some fields changed."""
    return replace(options, **changes)  # type: ignore[arg-type]
