"""Stream robustness on scripted fakes: stalled agreement, collapsed passes, load spikes, pauses."""

from __future__ import annotations

import numpy as np

from runtime.audio import ArraySource, AudioOptions
from runtime.engines.whisper import SAMPLE_RATE, FakeSpeechEngine, SttOptions, SttResult, Word, timeline_audio
from skills.speech.stream import StreamingTranscriber, StreamOptions, simulate

SCRIPT = [Word(0.2 + 0.4 * i, 0.5 + 0.4 * i, f" w{i}") for i in range(100)]  # ~40 s of "speech"


class Flaky(FakeSpeechEngine):
    """Hears the script, but each pass spells every word differently (so no two passes ever agree),
    or, on the calls listed in `collapse`, decodes the whole buffer as one long word (as tiny.en
    sometimes does on a long buffer under load); `costs` are the compute seconds of each call."""

    def __init__(
        self,
        script: list[Word],
        disagree: bool = False,
        collapse: tuple[int, ...] = (),
        costs: tuple[float, ...] = (),
    ) -> None:
        super().__init__(script)
        self.disagree, self.collapse, self.costs = disagree, collapse, costs

    def transcribe(self, audio: np.ndarray, options: SttOptions = SttOptions()) -> SttResult:
        r = super().transcribe(audio, options)
        n = len(self.calls)
        words = [
            Word(w.start, w.end, w.text.rstrip("?") + ("ab"[n % 2] if self.disagree else "")) for w in r.words
        ]
        if n in self.collapse:
            words = [Word(0.0, 4.0, " time.")]
        cost = self.costs[n - 1] if n <= len(self.costs) else 0.0
        return SttResult(tuple(words), "".join(w.text for w in words), "en", r.duration, cost)


def stream(engine: FakeSpeechEngine, seconds: float, **opts: object) -> tuple[list, StreamingTranscriber]:  # type: ignore[type-arg]
    t = StreamingTranscriber(lambda _: engine, StreamOptions(**{"vad": False, **opts}))  # type: ignore[arg-type]
    return list(simulate(t, ArraySource(timeline_audio(seconds), AudioOptions(0.25)))), t


def committed_words(events: list) -> list[str]:  # type: ignore[type-arg]
    return "".join(e.text for e in events if e.kind == "committed").split()


def test_stalled_agreement_commits_every_word_once_across_trims() -> None:
    events, t = stream(Flaky(SCRIPT, disagree=True), 40.6, buffer_seconds=6.0, max_buffer=8.0)
    got = [w.rstrip("ab") for w in committed_words(events)]
    assert got == [w.text.strip() for w in SCRIPT]  # none lost at a forced trim, none repeated
    # the buffer was trimmed while the stream ran, not only flushed at its end
    forced = [e for e in events if e.kind == "committed" and e.emitted_at < 39.0]
    assert forced and len(t.audio) / SAMPLE_RATE < 8.0 + 2 * t.step + 1.0


def test_collapsed_pass_does_not_discard_pending_words() -> None:
    for collapse in ((8, 9, 10), (9, 10, 11, 12)):
        events, _ = stream(
            Flaky(SCRIPT[:60], disagree=True, collapse=collapse), 24.6, buffer_seconds=6.0, max_buffer=8.0
        )
        got = [w.rstrip("ab") for w in committed_words(events)]
        assert got == [w.text.strip() for w in SCRIPT[:60]], collapse  # no "time.", nothing skipped


def test_adaptation_is_undone_when_the_load_passes() -> None:
    costs = (2.6,) * 6 + (0.05,) * 40  # a load spike, then a fast machine again
    events, t = stream(Flaky(SCRIPT, costs=costs), 40.6, beam_size=2)
    notes = [e.note for e in events if e.kind == "adapted"]
    assert notes[0].startswith("skipping the beam") and any(n.startswith("bigger chunks") for n in notes)
    assert any(n.startswith("back to") for n in notes), notes
    assert t.beam == 2 and t.step == 2.0  # fully recovered, newest adaptation undone first
    assert committed_words(events) == [w.text.strip() for w in SCRIPT]


class ScriptedGate:
    """A VAD stand-in: speech wherever the script has a word."""

    def __init__(self, script: list[Word]) -> None:
        self.script, self.heard = script, 0.0

    def feed(self, chunk: np.ndarray) -> list[float]:
        self.heard += len(chunk) / SAMPLE_RATE
        return []

    def speech_between(self, start: float, end: float) -> bool:
        return any(w.end > start and w.start < min(end, self.heard) for w in self.script)

    def last_speech(self) -> float | None:
        ends = [w.end for w in self.script if w.start < self.heard]
        return min(ends[-1], self.heard) if ends else None


def test_a_pause_runs_a_pass_that_commits_the_sentence() -> None:
    script = SCRIPT[:5]  # speech until 2.1 s, then silence
    first: dict[bool, float] = {}
    for pause in (True, False):
        engine = FakeSpeechEngine(script, unstable=0.3)  # silence follows: the tail is heard clearly
        t = StreamingTranscriber(
            lambda _: engine, StreamOptions(step=4.0, first_step=4.0, end_silence=0.4, pause_pass=pause)
        )
        t.gate = ScriptedGate(script)  # type: ignore[assignment]
        events = list(simulate(t, ArraySource(timeline_audio(6.0), AudioOptions(0.1))))
        assert committed_words(events) == [w.text.strip() for w in script]
        first[pause] = next(e.emitted_at for e in events if e.kind == "committed")
    assert first[True] <= 2.1 + 0.4 + 0.1 + 1e-6 < 4.0 <= first[False]


def test_keeping_up_does_not_adapt() -> None:
    # 1.2 s per pass: over the 1 s first steps of an utterance that reads as a ratio of 1.2, but
    # the stream keeps up with its 2 s steps, so the beam stays
    events, t = stream(Flaky(SCRIPT, costs=(1.2,) * 60), 20.6)
    assert [e.note for e in events if e.kind == "adapted"] == [] and t.beam == 5
    assert committed_words(events) == [w.text.strip() for w in SCRIPT[:51]]


def test_one_slow_first_pass_does_not_adapt() -> None:
    # the first pass pays cold caches; one slow pass is not falling behind
    events, t = stream(Flaky(SCRIPT, costs=(3.0,) + (0.05,) * 60), 20.6)
    assert [e.note for e in events if e.kind == "adapted"] == [] and t.beam == 5
