"""`assistant translate` and `assistant listen`: thin commands over the translate and speech skills."""

from __future__ import annotations

import sys
from typing import Any, Literal

import click

from assistant.cli import err_console, friendly
from runtime.config import Config


def _services(cfg: Config) -> Any:
    from assistant.services import Services

    return Services(cfg)


@click.command()
@click.argument("text", required=False)
@click.option("--to", "target", required=True, help="Target language code, e.g. pt.")
@click.option(
    "--from", "source", default="auto", show_default=True, help="Source language code, or auto to detect."
)
@click.option("--engine", default=None, help="Force an engine: bergamot, ct2 or llm.")
@click.option("--no-llm", is_flag=True, help="Fail instead of using the lower-quality LLM fallback.")
@click.option("--pairs", is_flag=True, help="List the installed language pairs and exit.")
@click.pass_obj
@friendly
def translate(
    cfg: Config, text: str | None, target: str, source: str, engine: str | None, no_llm: bool, pairs: bool
) -> None:
    """Translate TEXT (or standard input) offline, streaming sentence by sentence."""
    from skills.translate import TranslateOptions

    services = _services(cfg)
    try:
        skill = services.skill("translate")
        if pairs:
            click.echo("\n".join(skill.pairs()) or "no translation models installed")
            return
        if text is None:
            text = sys.stdin.read()
        gen = skill.stream(
            text, TranslateOptions(source=source, target=target, engine=engine, allow_llm=not no_llm)
        )
        while True:
            try:
                chunk = next(gen)
            except StopIteration as stop:
                result = stop.value
                break
            sys.stdout.write(chunk.text)
            sys.stdout.flush()
        if not result.text.endswith("\n"):
            click.echo()
        if result.quality == "lower":
            err_console.print(
                f"[yellow]note:[/] translated by the chat model ({result.engine}): lower quality "
                "than a dedicated model",
                highlight=False,
            )
        if result.detected is not None:
            err_console.print(
                f"[dim]detected {result.detected.language} ({result.detected.confidence:.0%})[/]"
            )
    finally:
        services.close()


@click.command()
@click.option("--file", "path", type=click.Path(dir_okay=False), default=None, help="Caption an audio file.")
@click.option(
    "--stdin", "use_stdin", is_flag=True, help="Read raw s16le mono 16 kHz PCM from standard input."
)
@click.option("--device", default=None, help="Microphone index or name (default: the system default).")
@click.option(
    "--model",
    default=None,
    help="Whisper model id (default: whisper-tiny.en, or whisper-base when "
    "translating or for other languages).",
)
@click.option(
    "--language", default=None, help="Spoken language code (default: English for .en models, else detect)."
)
@click.option("--translate-to", default=None, help="Also translate the captions into this language.")
@click.option(
    "--events", is_flag=True, help="Print every event (partial, committed, translated, adapted) with timings."
)
@click.pass_obj
@friendly
def listen(
    cfg: Config,
    path: str | None,
    use_stdin: bool,
    device: str | None,
    model: str | None,
    language: str | None,
    translate_to: str | None,
    events: bool,
) -> None:
    """Print live captions from the microphone, a file or a PCM pipe."""
    from runtime.audio import AudioOptions, FileSource, MicrophoneSource, StdinSource
    from skills.speech import StreamOptions

    opts = AudioOptions(chunk_seconds=0.25, device=int(device) if device and device.isdigit() else device)
    source = (
        FileSource(path, opts) if path else StdinSource(None, opts) if use_stdin else MicrophoneSource(opts)
    )
    english = language in (None, "en")
    task: Literal["transcribe", "translate"] = "translate" if translate_to and not english else "transcribe"
    chosen = model or ("whisper-tiny.en" if english and task == "transcribe" else "whisper-base")
    services = _services(cfg)
    try:
        speech = services.skill("speech")
        stream_opts = StreamOptions(model=chosen, language=language, task=task, translate_to=translate_to)
        partial = ""
        for ev in speech.captions(source, stream_opts):
            if events:
                click.echo(
                    f"{ev.kind:10s} [{ev.start:6.2f}-{ev.end:6.2f}] lag {ev.lag:4.1f}s rtf {ev.rtf:4.2f} "
                    f"{ev.text.strip() or ev.note}"
                )
                continue
            if ev.kind == "committed":
                _clear(partial)
                partial = ""
                sys.stdout.write(ev.text)
            elif ev.kind == "partial":
                _clear(partial)
                partial = click.style(ev.text, dim=True) if sys.stdout.isatty() else ""
                sys.stdout.write(partial)
            elif ev.kind == "translated":
                _clear(partial)
                partial = ""
                sys.stdout.write(f"\n  → {ev.text}\n")
            elif ev.kind == "adapted":
                err_console.print(f"[yellow]keeping up:[/] {ev.note}", highlight=False)
            sys.stdout.flush()
        click.echo()
    finally:
        source.close()
        services.close()


def _clear(partial: str) -> None:
    # partials are only drawn on a terminal; erase the previous one before writing anew
    if partial and sys.stdout.isatty():
        n = len(click.unstyle(partial))
        sys.stdout.write("\b" * n + " " * n + "\b" * n)
