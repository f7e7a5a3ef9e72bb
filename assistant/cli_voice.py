"""`assistant say` (text to speech) and `assistant voice` (the spoken conversation loop)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

from assistant.cli import console, err_console, friendly
from runtime.config import Config


def _services(cfg: Config) -> Any:
    from assistant.services import Services

    return Services(cfg)


@click.command()
@click.argument("text", required=False)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    help="Write a file instead of playing: .wav, .mp3, .opus/.ogg, .aac or .flac, by its extension.",
)
@click.option("--voice", "voice_id", default=None, help="Voice id (default: piper-joe-medium).")
@click.option("--speed", default=1.0, show_default=True, type=click.FloatRange(0.25, 4.0))
@click.pass_obj
@friendly
def say(cfg: Config, text: str | None, out: str | None, voice_id: str | None, speed: float) -> None:
    """Speak TEXT (or stdin) aloud with a Piper voice, sentence by sentence, or write it to --out."""
    from runtime.audio import AudioError
    from runtime.engines.base import TtsOptions
    from runtime.engines.piper import DEFAULT_VOICE
    from skills.voice.encode import EXTENSIONS, EncodedFileSink
    from skills.voice.sinks import SpeakerSink, TimelineSink

    fmt = _out_format(out)
    if text is None or text == "-":
        text = sys.stdin.read()
    if not any(c.isalnum() for c in text):
        raise AudioError("there is nothing to say", 'pass some text: assistant say "Hello there."')
    # find the speaker before loading anything: no device is one line, not a model load and a traceback
    if out and fmt != ".wav":
        sink: Any = EncodedFileSink(out, EXTENSIONS[fmt])  # written as each sentence is synthesised
    else:
        sink = TimelineSink(gap=0.0) if out else SpeakerSink()
    services = _services(cfg)
    t0 = time.perf_counter()
    audio = compute = 0.0
    first = None
    try:
        for chunk in services.skill("voice").speak(text, voice_id or DEFAULT_VOICE, TtsOptions(speed=speed)):
            first = first if first is not None else time.perf_counter() - t0
            sink.write(chunk.samples, chunk.sample_rate)
            audio += chunk.duration
            compute += chunk.seconds
        if out:
            sink.save(out)
            err_console.print(f"wrote {out}: {audio:.1f} s of audio", highlight=False)
        else:
            sink.drain()
        rtf = compute / audio if audio else 0.0
        err_console.print(
            f"[dim]first audio after {first or 0:.2f} s (model load included), real-time factor {rtf:.2f}[/]",
            highlight=False,
        )
    finally:
        sink.close()
        services.close()


@click.command()
@click.option("--file", "path", type=click.Path(dir_okay=False), help="Take the speech from an audio file.")
@click.option(
    "--live", is_flag=True, help="Play the --file at real speed, as if spoken now (answers overlap it)."
)
@click.option("--stdin", "use_stdin", is_flag=True, help="Take raw PCM s16le 16 kHz mono from stdin.")
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Write the spoken answers to a WAV file.")
@click.option("--push-to-talk", "ptt", is_flag=True, help="Press Enter to start and to stop talking.")
@click.option("--voice", "voice_id", default=None, help="Voice id (default: piper-joe-medium).")
@click.option("--model", default=None, help="Chat model id (default: the role planner's voice model).")
@click.option(
    "--no-barge-in",
    is_flag=True,
    help="Half duplex: ignore what is heard while an answer plays (speakers without headphones).",
)
@click.option("--events", is_flag=True, help="Print every event with its time and the latency split.")
@click.pass_obj
@friendly
def voice(
    cfg: Config,
    path: str | None,
    live: bool,
    use_stdin: bool,
    out: str | None,
    ptt: bool,
    voice_id: str | None,
    model: str | None,
    no_barge_in: bool,
    events: bool,
) -> None:
    """Talk with the assistant: speech in, memory-grounded answers spoken back.

    Listens to the microphone (or --file / --stdin), answers each utterance aloud (or into --out),
    shows the transcript and the memory it used, and stops talking when you speak over it.
    """
    from dataclasses import replace

    from runtime.audio import AudioError, AudioOptions, FileSource, MicrophoneSource, PacedSource, StdinSource
    from runtime.engines.piper import DEFAULT_VOICE
    from skills.memory.model import Caller
    from skills.voice import VoiceOptions
    from skills.voice.sinks import SpeakerSink, TimelineSink

    fmt = _out_format(out)
    opts = AudioOptions(chunk_seconds=0.1)
    # sources and sinks first: no microphone or speaker is one line before any model loads
    source: Any = (
        FileSource(path, opts) if path else StdinSource(None, opts) if use_stdin else MicrophoneSource(opts)
    )
    if live and path:
        source = PacedSource(source)
    sink: Any = TimelineSink() if out else SpeakerSink()
    base = VoiceOptions()
    options = replace(
        base,
        mode="push-to-talk" if ptt else "hands-free",
        barge_in=not no_barge_in,
        chat=replace(base.chat, model=model),
    )
    services = _services(cfg)
    heard = 0
    stopped = False
    answering: set[int] = set()
    try:
        with services.skill("voice").loop(options, Caller.user(), voice_id or DEFAULT_VOICE) as loop:
            if ptt and source.realtime and not use_stdin:
                _enter_toggles(loop)
            try:
                for ev in loop.run(source, sink):
                    heard += ev.kind == "transcript"
                    _show(ev, events, answering)
            except KeyboardInterrupt:  # Ctrl+C ends the conversation, not with a traceback
                loop.stop()
                sink.stop(0.0)
                console.print("\n[dim](stopped)[/]")
                stopped = True
        if out and heard:
            _save(sink, out, fmt)
            err_console.print(f"wrote {out}", highlight=False)
        elif hasattr(sink, "drain"):
            sink.drain()
    finally:
        source.close()
        sink.close()
        services.close()
    if heard == 0 and not stopped:
        where = Path(path).name if path else "stdin" if use_stdin else "the microphone"
        raise AudioError(
            f"no speech heard in {where}", "speak closer to the microphone, or check the recording"
        )


def _out_format(out: str | None) -> str:
    """Return --out's extension (".wav", ".mp3", ...), "" without --out; AudioError for others."""
    from runtime.audio import AudioError
    from skills.voice.encode import EXTENSIONS

    fmt = Path(out).suffix.lower() if out else ""
    if out and fmt not in (".wav", *EXTENSIONS):
        raise AudioError(
            f"cannot write {out}: unknown audio file extension {fmt or '(none)'}",
            f"end --out with one of: .wav, {', '.join(EXTENSIONS)}",
        )
    return fmt


def _save(sink: Any, out: str, fmt: str) -> None:
    """Write a conversation's answers, as heard, in the format --out's extension names."""
    from skills.voice.encode import EXTENSIONS, EncodedFileSink

    if fmt == ".wav":
        sink.save(out)
        return
    encoded = EncodedFileSink(out, EXTENSIONS[fmt])
    try:
        encoded.write(sink.audio(), sink.sample_rate or 22050)
        encoded.save()
    finally:
        encoded.close()


def _enter_toggles(loop: Any) -> None:
    def read() -> None:
        talking = False
        console.print("[dim]push-to-talk: press Enter to talk, Enter again when done[/]")
        for _ in sys.stdin:
            talking = not talking
            loop.press() if talking else loop.release()

    threading.Thread(target=read, daemon=True).start()


def _show(ev: Any, verbose: bool, answering: set[int]) -> None:
    """Print one loop event; `answering` holds the turns whose "assistant>" prefix is printed."""
    if verbose:
        extra = f" {ev.stats.to_dict()}" if ev.stats is not None else ""
        text = "" if ev.kind == "audio" and not verbose else ev.text.replace("\n", " | ")
        click.echo(f"{ev.kind:12s} turn {ev.turn} @{ev.at:6.2f}s {text}{extra}")
        return
    if ev.kind in ("citations", "turn_done", "barge_in") and ev.turn in answering:
        click.echo()  # end the answer's line before anything else is printed
        answering.discard(ev.turn)
    if ev.kind == "transcript":
        console.print(f"[bold green]you>[/] {ev.text}", highlight=False)
        answering.discard(ev.turn)
    elif ev.kind == "token":
        if ev.turn not in answering:
            console.print("[bold blue]assistant>[/] ", end="")
            answering.add(ev.turn)
        sys.stdout.write(ev.text)
        sys.stdout.flush()
    elif ev.kind == "resolved":
        err_console.print(f"[dim]({ev.text})[/]", highlight=False)
    elif ev.kind == "citations":
        for line in ev.text.splitlines():
            console.print(f"  [dim]{line}[/]", highlight=False)
    elif ev.kind == "barge_in":
        console.print(f"[yellow](you spoke: answer stopped after {ev.text} s)[/]", highlight=False)
    elif ev.kind == "turn_done":
        if ev.stats is not None:
            s = ev.stats
            console.print(
                f"[dim]voice to voice {s.voice_to_voice:.2f} s (end of speech {s.eou:.2f}, stt {s.stt:.2f}, "
                f"prompt {s.prompt:.2f}, first sentence {s.first_sentence:.2f}, tts {s.tts:.2f})[/]",
                highlight=False,
            )
    elif ev.kind == "no_speech":
        err_console.print("[dim](no words heard)[/]", highlight=False)
