"""Commit policy, adaptation and lag bounds, on the scripted fake engine (no model)."""

from __future__ import annotations

from runtime.audio import ArraySource, AudioOptions
from runtime.engines.whisper import FakeSpeechEngine, Word, cut_loop, timeline_audio
from skills.speech.agreement import HypothesisBuffer
from skills.speech.stream import StreamingTranscriber, StreamOptions, simulate

SCRIPT = [Word(0.2 + 0.4 * i, 0.5 + 0.4 * i, f" w{i}") for i in range(24)]  # ~10 s of "speech"


def run(cost: float = 0.0, **opts: object) -> tuple[list, StreamingTranscriber]:  # type: ignore[type-arg]
    engine = FakeSpeechEngine(SCRIPT, cost=cost)
    options = StreamOptions(**{"vad": False, "beam_size": 2, **opts})  # type: ignore[arg-type]
    t = StreamingTranscriber(lambda _: engine, options)
    return list(simulate(t, ArraySource(timeline_audio(10.4), AudioOptions(0.25)))), t


def test_committed_text_is_final_and_complete() -> None:
    events, t = run()
    committed = [e for e in events if e.kind == "committed"]
    text = "".join(e.text for e in committed)
    assert text.split() == [w.text.strip() for w in SCRIPT]  # every word once, in order, no "?" variants
    ends = [e.end for e in committed]
    assert ends == sorted(ends)  # appended only: never rewritten or reordered
    partials = [e for e in events if e.kind == "partial"]
    assert any("?" in p.text for p in partials)  # the unstable tail shows as partial, never committed
    assert committed[0].emitted_at < 2.5  # first committed caption early, not at the end


def test_hypothesis_buffer_commits_agreed_prefix_only() -> None:
    hyp = HypothesisBuffer()
    assert hyp.insert([Word(0, 0.5, " hello"), Word(0.5, 1, " word")]) == []
    got = hyp.insert([Word(0, 0.5, " Hello,"), Word(0.5, 1, " world"), Word(1, 1.4, " again")])
    assert [w.text for w in got] == [" Hello,"]
    assert [w.text for w in hyp.pending()] == [" world", " again"]


def said(text: str, start: float = 0.0, gap: float = 0.4) -> list[Word]:
    """Return words at even times from `start` (a pass's words, absolute times)."""
    return [Word(start + gap * i, start + gap * i + 0.3, " " + w) for i, w in enumerate(text.split())]


def test_an_unsteady_first_word_does_not_block_the_words_after_it() -> None:
    # a window cut mid-sentence: one pass hears a stray "the" at the start, the next does not;
    # plain prefix agreement would commit nothing until the buffer is cut and the words are lost
    hyp = HypothesisBuffer()
    assert hyp.insert([Word(0.0, 0.2, " the"), *said("story hour for young", 0.4)]) == []
    got = hyp.insert(said("story hour for young readers", 0.4))
    assert [w.text for w in got] == [" the", " story", " hour", " for", " young"]  # the fuller head wins
    hyp = HypothesisBuffer()
    hyp.insert(said("story hour for young", 0.4))
    got = hyp.insert([Word(0.0, 0.2, " the"), *said("story hour for young readers", 0.4)])
    assert [w.text for w in got] == [" the", " story", " hour", " for", " young"]


def test_a_head_heard_differently_goes_to_the_newer_pass() -> None:
    hyp = HypothesisBuffer()
    hyp.insert(said("open that night in the morning"))
    got = hyp.insert(said("opens at night in the morning and", 0.0))
    assert " ".join(w.text.strip() for w in got) == "opens at night in the morning"


def test_words_one_pass_skipped_at_the_head_are_kept() -> None:
    # Whisper sometimes drops a window's first sentence; the pass that heard it wins the head
    hyp = HypothesisBuffer()
    hyp.insert(said("there is a story hour please return your books"))
    got = hyp.insert(said("please return your books on time", 2.0))
    assert " ".join(w.text.strip() for w in got) == "there is a story hour please return your books"
    assert [w.text for w in hyp.pending()] == [" on", " time"]


def test_heads_that_differ_too_much_wait_for_another_pass() -> None:
    hyp = HypothesisBuffer()
    hyp.insert(said("one two three four five six seven"))
    assert hyp.insert(said("uno dos tres cuatro six seven eight", 0.4 * 1)) == []


def test_a_word_heard_elsewhere_in_the_audio_does_not_agree() -> None:
    # the same word decoded over seconds of audio the pass skipped is not a confirmation
    hyp = HypothesisBuffer()
    hyp.insert(said("the story hour for young readers"))
    got = hyp.insert([Word(0.0, 4.8, " The"), *said("library opens at nine", 5.0)])
    assert got == []


def test_adapts_when_slower_than_real_time_and_bounds_lag() -> None:
    events, t = run(cost=2.6, max_lag=4.0)  # each pass takes longer than the 2 s step
    notes = [e.note for e in events if e.kind == "adapted"]
    assert notes and notes[0].startswith("skipping the beam")
    assert any(n.startswith("bigger chunks") for n in notes)
    assert t.beam == 1 and t.step > 1.0
    lags = [e.lag for e in events if e.kind == "committed"]
    assert max(lags) <= 4.0 + 2.6 + t.options.max_step  # bounded by max_lag + one pass


def test_translated_events_per_sentence() -> None:
    script = [
        Word(0.2, 0.6, " Hello"),
        Word(0.6, 1.0, " there."),
        Word(1.2, 1.6, " Bye"),
        Word(1.6, 2.0, " now."),
    ]
    engine = FakeSpeechEngine(script, unstable=0.3)
    t = StreamingTranscriber(
        lambda _: engine,
        StreamOptions(vad=False, translate_to="pt"),
        translate=lambda text, src: f"<{src}>{text}",
    )
    events = list(simulate(t, ArraySource(timeline_audio(3.0), AudioOptions(0.25))))
    assert [e.text for e in events if e.kind == "translated"] == ["<en>Hello there.", "<en>Bye now."]


def test_streaming_uses_the_short_window_by_default() -> None:
    engine = FakeSpeechEngine(SCRIPT)
    t = StreamingTranscriber(lambda _: engine, StreamOptions(vad=False))
    list(simulate(t, ArraySource(timeline_audio(3.0), AudioOptions(0.25))))
    assert engine.calls and all(c.window == "short" and c.min_window == 5.0 for c in engine.calls)
    engine.calls.clear()
    t = StreamingTranscriber(lambda _: engine, StreamOptions(vad=False, window="padded"))
    list(simulate(t, ArraySource(timeline_audio(3.0), AudioOptions(0.25))))
    assert engine.calls and all(c.window == "padded" for c in engine.calls)


def test_cut_loop_keeps_one_copy_of_a_repetition_loop() -> None:
    assert cut_loop([1, 2, 3, 4, 5, 4, 5, 4, 5, 4]) == [1, 2, 3, 4, 5]
    assert cut_loop([9, 9, 9, 9, 9, 9, 2]) == [9]
    assert cut_loop([1, 1, 1, 2, 1, 2, 3]) == [1, 1, 1, 2, 1, 2, 3]  # short stutters are speech, not loops


def test_wer_spells_out_small_numbers_on_both_sides() -> None:
    from skills.speech.metrics import wer

    assert wer("It opens at nine.", "It opens at 9") == 0.0
    assert wer("Up to 5 books", "up to five books.") == 0.0
    assert wer("opens at nine", "open that night") == 1.0  # real errors still count


def test_streams_and_transcriptions_hand_runtime_engines_back() -> None:
    from skills.speech import SpeechSkill

    released: list[str] = []
    engine = FakeSpeechEngine(SCRIPT)
    skill = SpeechSkill(lambda _: engine, release=lambda model_id, _engine: released.append(model_id))
    options = StreamOptions(vad=False)
    list(skill.captions(ArraySource(timeline_audio(10.4), AudioOptions(0.25)), options))
    assert released == ["whisper-tiny.en"]  # finished
    abandoned = skill.captions(ArraySource(timeline_audio(10.4), AudioOptions(0.25)), options)
    next(abandoned)
    abandoned.close()
    assert released == ["whisper-tiny.en"] * 2  # stopped early
    skill.transcribe(timeline_audio(2.0))
    assert released == ["whisper-tiny.en"] * 3
