"""The `assistant` command: thin commands over the library.

Every command catches AssistantError and prints its one-line message and fix, never a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable, TypeVar

import click
from rich.console import Console

from runtime.config import Config
from runtime.errors import AssistantError

F = TypeVar("F", bound=Callable[..., Any])
console = Console()
err_console = Console(stderr=True)


def friendly(fn: F) -> F:
    """Turn AssistantError into a clean one-line message and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AssistantError as exc:
            err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
            if exc.fix:
                err_console.print(f"[bold]fix:[/] {exc.fix}", highlight=False)
            sys.exit(1)
        except KeyboardInterrupt:
            err_console.print("interrupted")
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def make_runtime(cfg: Config) -> Any:
    from runtime.runtime import Runtime

    return Runtime(cfg)


class LazyGroup(click.Group):
    """A group whose subcommands live in their own modules and are imported only when used,
    so `assistant --help` and the TUI start fast. Modules not present yet are skipped."""

    lazy: dict[str, str] = {
        "models": "assistant.cli_models:models",
        "daemon": "assistant.cli_daemon:daemon",
        "apps": "assistant.cli_daemon:apps",
        "call": "assistant.cli_daemon:call",
        "complete": "assistant.cli_complete:complete",
        "translate": "assistant.cli_translate:translate",
        "listen": "assistant.cli_translate:listen",
        "memory": "assistant.cli_memory:memory",
        "ask": "assistant.cli_chat:ask",
        "say": "assistant.cli_voice:say",
        "voice": "assistant.cli_voice:voice",
        "connectors": "assistant.cli_connectors:connectors",
        "hook": "assistant.cli_connectors:hook",
        "mcp": "assistant.cli_mcp:mcp",
        "tui": "assistant.tui.app:tui_command",
    }

    def _available(self, name: str) -> bool:
        import importlib.util

        module = self.lazy[name].split(":")[0]
        try:
            return importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            return False

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx)) | {n for n in self.lazy if self._available(n)}
        return sorted(names)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and self._available(name):
            import importlib

            module, attr = self.lazy[name].split(":")
            cmd = getattr(importlib.import_module(module), attr)
            assert isinstance(cmd, click.Command)
            return cmd
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, invoke_without_command=True)
@click.version_option(package_name="assistant-runtime")
@click.pass_context
def main(ctx: click.Context) -> None:
    """On-device assistant: chat, autocomplete, translation, speech and memory, offline.

    With no command, starts the full-screen assistant (or a plain terminal chat when the
    output is not a terminal).
    """
    ctx.obj = Config.from_env()
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            tui = main.get_command(ctx, "tui")
            assert tui is not None
            ctx.invoke(tui)
        else:
            ctx.invoke(chat)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print facts, plans and models per role as JSON.")
@click.option(
    "--calibrate", is_flag=True, help="Measure each installed text model's speed here first (cached)."
)
@click.option(
    "--calibrate-missing",
    is_flag=True,
    help="Measure only the models with no calibration for this device and llama.cpp build (setup runs this).",
)
@click.pass_obj
@friendly
def doctor(cfg: Config, as_json: bool, calibrate: bool, calibrate_missing: bool) -> None:
    """Show what this machine has, where each engine family would run, and which model serves each
    role, with reasons."""
    from runtime.calibrate import calibrate_installed, current_calibrations, role_plan
    from runtime.doctor import doctor_json, doctor_tables

    rt = make_runtime(cfg)
    try:
        if calibrate or calibrate_missing:
            calibrate_installed(rt, force=calibrate, report=lambda m: err_console.print(f"[dim]{m}[/]"))
        roles, cals = role_plan(rt), current_calibrations(rt)
    finally:
        rt.close()
    if as_json:
        click.echo(json.dumps(doctor_json(rt.facts, rt.plans, roles, cals), indent=2))
        return
    for table in doctor_tables(rt.facts, rt.plans, roles, cals):
        console.print(table)


def _gen_options(
    max_tokens: int,
    temperature: float,
    json_schema: str | None,
    grammar: str | None,
    truncate: bool,
    stop: tuple[str, ...] = (),
) -> Any:
    from runtime.engines.base import GenerationOptions

    schema = None
    if json_schema:
        text = Path(json_schema).read_text() if Path(json_schema).is_file() else json_schema
        try:
            schema = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AssistantError(
                f"--json-schema is not valid JSON: {exc}", "pass a JSON schema or a file holding one"
            )
    gram = Path(grammar).read_text() if grammar else None
    return GenerationOptions(
        max_tokens=max_tokens,
        temperature=temperature,
        json_schema=schema,
        grammar=gram,
        stop=stop,
        truncation="truncate_start" if truncate else "error",
    )


@main.command()
@click.argument("model")
@click.argument("prompt")
@click.option("--max-tokens", default=256, show_default=True, help="Most tokens to generate.")
@click.option("--temperature", default=0.0, show_default=True, help="0 is greedy.")
@click.option(
    "--chat/--raw",
    "as_chat",
    default=True,
    show_default=True,
    help="Wrap the prompt in the model's chat template, or complete it as plain text.",
)
@click.option("--json-schema", default=None, help="Constrain output to a JSON schema (JSON text or a file).")
@click.option(
    "--grammar", type=click.Path(exists=True, dir_okay=False), help="Constrain output to a GBNF grammar file."
)
@click.option("--lora", type=click.Path(), default=None, help="Apply a LoRA adapter (GGUF).")
@click.option(
    "--prompt-lookup", default=0, help="Prompt-lookup speculative decoding: tokens per step (0 = off)."
)
@click.option(
    "--truncate", is_flag=True, help="Drop the oldest prompt tokens instead of failing when too long."
)
@click.option("--stats", is_flag=True, help="Print load and speed figures after the answer.")
@click.pass_obj
@friendly
def run(
    cfg: Config,
    model: str,
    prompt: str,
    max_tokens: int,
    temperature: float,
    as_chat: bool,
    json_schema: str | None,
    grammar: str | None,
    lora: str | None,
    prompt_lookup: int,
    truncate: bool,
    stats: bool,
) -> None:
    """Run MODEL on PROMPT and stream the answer."""
    from runtime.engines.base import ChatMessage

    rt = make_runtime(cfg)
    overrides: dict[str, Any] = {}
    if lora:
        overrides["lora_path"] = lora
    if prompt_lookup:
        overrides["prompt_lookup"] = prompt_lookup
    if overrides:
        rt.load_overrides[model] = overrides
    opts = _gen_options(max_tokens, temperature, json_schema, grammar, truncate)
    stream = (
        rt.chat([ChatMessage("user", prompt)], opts, model=model)
        if as_chat
        else rt.complete(prompt, opts, model=model)
    )
    result = _print_stream(stream)
    click.echo()
    if stats and result is not None:
        loaded = {m.model_id: m for m in rt.scheduler.loaded()}
        rep = loaded[model].report if model in loaded else None
        _print_stats(result, rep)
    if result is not None and result.truncated_tokens:
        err_console.print(
            f"[yellow]note:[/] dropped the oldest {result.truncated_tokens} prompt tokens to fit the context"
        )
    rt.close()


def _print_stream(stream: Any) -> Any:
    while True:
        try:
            ev = next(stream)
        except StopIteration as stop:
            return stop.value
        sys.stdout.write(ev.text)
        sys.stdout.flush()


def _print_stats(s: Any, report: Any) -> None:
    if report is not None:
        err_console.print(
            f"device: {report.device} ({'; '.join(report.reasons)}), load {report.seconds:.2f} s"
        )
    err_console.print(
        f"prompt: {s.prompt_tokens} tokens ({s.cached_tokens} cached), {s.prompt_tokens_per_second:.0f} tok/s; "
        f"first token {s.time_to_first_token * 1000:.0f} ms; generated {s.completion_tokens} tokens at "
        f"{s.tokens_per_second:.1f} tok/s; finish: {s.finish_reason}"
    )


@main.command()
@click.option("--model", default=None, help="Model id (default: the role plan's choice).")
@click.option(
    "--system",
    default="You are a helpful, concise assistant running offline on the user's device.",
    help="System prompt.",
)
@click.option("--max-tokens", default=512, show_default=True)
@click.option("--no-memory", is_flag=True, help="Plain chat: do not look questions up in memory.")
@click.pass_obj
@friendly
def chat(cfg: Config, model: str | None, system: str, max_tokens: int, no_memory: bool = False) -> None:
    """Chat in the terminal, grounded in your memory with citations. /reset clears the
    conversation, /quit or Ctrl-D leaves."""
    from assistant.cli_chat import run_chat

    run_chat(cfg, model, system, max_tokens, grounding=not no_memory)


def _progress_printer() -> Callable[[str, int, int], None]:
    from assistant.progress import ProgressPrinter

    return ProgressPrinter(err_console)


if __name__ == "__main__":
    main()
