"""`assistant chat` and `assistant ask`: answers grounded in the user's memory, with citations.

Both go through the chat skill (skills/chat.py) as the device owner, like the TUI: the question is
looked up in memory first, and the answer names the records it rests on.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from assistant.cli import console, err_console, friendly
from runtime.config import Config
from runtime.errors import AssistantError

DEFAULT_SYSTEM = "You are a helpful, concise assistant running offline on the user's device."


def _skill(cfg: Config, grounding: bool) -> tuple[Any, Any]:
    """Return (services, chat skill); the memory is opened only when grounding."""
    from assistant.services import Services
    from skills.chat import ChatSkill

    services = Services(cfg)
    if grounding:
        return services, services.skill("chat")
    return services, ChatSkill(services.runtime, None)


def _owner() -> Any:
    from skills.memory.model import Caller

    return Caller.user()


def _options(model: str | None, max_tokens: int, grounding: bool) -> Any:
    from runtime.engines.base import GenerationOptions
    from skills.chat import ChatOptions

    gen = GenerationOptions(max_tokens=max_tokens, temperature=0.3, truncation="truncate_start")
    return ChatOptions(generation=gen, grounding=grounding, model=model)


def _sources(answer: Any) -> None:
    from skills.chat_context import when_text

    import time

    now = time.time()
    for c in answer.citations:
        err_console.print(
            f"  [dim][{c.n}] {c.app} · {c.kind} · {c.title} · {when_text(c.created, now)} · mem:{c.id}[/]",
            highlight=False,
        )


def run_chat(cfg: Config, model: str | None, system: str, max_tokens: int, grounding: bool) -> None:
    """The terminal chat loop: /reset clears the conversation, /quit or Ctrl-D leaves."""
    from runtime.engines.base import CancelToken, ChatMessage

    services, chat = _skill(cfg, grounding)
    rt = services.runtime
    model_id = model or rt.model_for("chat")
    err_console.print(f"[dim]loading {model_id}…[/]")
    from assistant.cli import _progress_printer

    rt.store.ensure(model_id, progress=_progress_printer())
    history = [ChatMessage("system", system)]
    where = " grounded in your memory" if chat.memory is not None else ""
    console.print(
        f"[bold]assistant[/] on [cyan]{model_id}[/], offline{where}. Ctrl-C stops a reply; /quit leaves."
    )
    opts = _options(model, max_tokens, grounding)
    try:
        while True:
            try:
                line = console.input("[bold green]you>[/] ")
            except EOFError:
                break
            text = line.strip()
            if not text:
                continue
            if text in ("/quit", "/exit"):
                break
            if text == "/reset":
                history = history[:1]
                continue
            history.append(ChatMessage("user", text))
            cancel = CancelToken()
            console.print("[bold blue]assistant>[/] ", end="")
            stream = chat.stream(history, _owner(), opts, cancel)
            answer = None
            parts: list[str] = []
            try:
                while True:
                    try:
                        piece = next(stream)
                    except StopIteration as stop:
                        answer = stop.value
                        break
                    parts.append(piece)
                    sys.stdout.write(piece)
                    sys.stdout.flush()
            except KeyboardInterrupt:
                cancel.cancel()
                for _ in stream:
                    pass
                console.print("[dim] (stopped)[/]")
            click.echo()
            if answer is not None:
                _sources(answer)
            history.append(ChatMessage("assistant", answer.text if answer is not None else "".join(parts)))
    finally:
        services.close()


@click.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help='Print {"text", "citations", "model"} as JSON.')
@click.option("--model", default=None, help="Model id (default: the role plan's choice).")
@click.option("--no-memory", is_flag=True, help="Answer without looking in memory.")
@click.option("--max-tokens", default=160, show_default=True)
@click.pass_obj
@friendly
def ask(
    cfg: Config, question: str, as_json: bool, model: str | None, no_memory: bool, max_tokens: int
) -> None:
    """Answer QUESTION once, grounded in your memory, with the records it rests on."""
    from runtime.engines.base import ChatMessage

    if not question.strip():
        raise AssistantError(
            "the question is empty", 'ask something, e.g. assistant ask "who sent me the contract?"'
        )
    services, chat = _skill(cfg, not no_memory)
    try:
        messages = [ChatMessage("system", DEFAULT_SYSTEM), ChatMessage("user", question)]
        opts = _options(model, max_tokens, not no_memory)
        if as_json:
            answer = chat.answer(messages, _owner(), opts)
            out = {
                "text": answer.text.strip(),
                "citations": [c.to_dict() for c in answer.citations],
                "model": answer.model,
                "grounded": answer.grounded,
                "repaired": answer.repaired,
            }
            click.echo(json.dumps(out, ensure_ascii=False))
            return
        stream = chat.stream(messages, _owner(), opts)
        while True:
            try:
                piece = next(stream)
            except StopIteration as stop:
                answer = stop.value
                break
            sys.stdout.write(piece)
            sys.stdout.flush()
        click.echo()
        _sources(answer)
    finally:
        services.close()
