"""`assistant complete`: suggestions for a piece of text, and the local phrase model's controls."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Any

import click

from assistant.cli import err_console, friendly
from runtime.config import Config


def _phrases(cfg: Config) -> Any:
    from skills.autocomplete import PhraseModel, phrase_db_path

    return PhraseModel(phrase_db_path(cfg))


@click.command()
@click.argument("text", required=False)
@click.option("--code", is_flag=True, help="Complete code with fill-in-the-middle on the code model.")
@click.option("--suffix", default="", help="Text after the cursor (used for code).")
@click.option("--app", default="cli", show_default=True, help="App name (sessions are per app and document).")
@click.option("--doc", default="default", show_default=True, help="Document name within the app.")
@click.option(
    "--budget",
    default=10000.0,
    show_default=True,
    help="Latency budget in ms; a one-off command also pays for loading the model.",
)
@click.option(
    "-n", "--max", "max_suggestions", default=3, show_default=True, help="Most suggestions to show."
)
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
@click.option("--learned", is_flag=True, help="Show the phrases learned on this device, most frequent first.")
@click.option("--pause", is_flag=True, help="Pause learning (suggestions from what was learned go on).")
@click.option("--resume", is_flag=True, help="Resume learning.")
@click.option("--clear", is_flag=True, help="Delete everything learned.")
@click.option(
    "--learn",
    "learn_file",
    type=click.File("r"),
    default=None,
    help="Opt a text file in to learning ('-' reads stdin); card numbers are never learned.",
)
@click.pass_obj
@friendly
def complete(
    cfg: Config,
    text: str | None,
    code: bool,
    suffix: str,
    app: str,
    doc: str,
    budget: float,
    max_suggestions: int,
    as_json: bool,
    learned: bool,
    pause: bool,
    resume: bool,
    clear: bool,
    learn_file: Any,
) -> None:
    """Suggest how TEXT continues, offline. Text after the cursor goes in --suffix.

    Without TEXT, the flags manage the on-device phrase model: --learned, --pause, --resume,
    --clear, --learn FILE.
    """
    if pause or resume or clear or learned or learn_file is not None:
        _manage(cfg, learned, pause, resume, clear, learn_file, as_json)
        if text is None:
            return
    if text is None:
        raise click.UsageError(
            "give the text to complete, or one of --learned/--pause/--resume/--clear/--learn"
        )
    from assistant.cli import make_runtime
    from skills.autocomplete import Autocomplete, CompleteRequest, PhraseModel, RuntimeEngines, phrase_db_path

    rt = make_runtime(cfg)
    skill = Autocomplete(RuntimeEngines(rt), PhraseModel(phrase_db_path(cfg)))
    try:
        result = skill.complete(
            CompleteRequest(
                prefix=text,
                suffix=suffix,
                kind="code" if code else "prose",
                app=app,
                doc=doc,
                budget_ms=budget,
                max_suggestions=max_suggestions,
            )
        )
    finally:
        skill.close()
        rt.close()
    if as_json:
        click.echo(json.dumps({**asdict(result), "text": result.text}, indent=2))
        return
    if not result.suggestions:
        err_console.print("[dim](no suggestion)[/]")
    for s in result.suggestions:
        click.echo(s.text)
    if result.partial:
        err_console.print("[yellow]note:[/] the budget ran out; this suggestion is partial (raise --budget)")


def _manage(
    cfg: Config, learned: bool, pause: bool, resume: bool, clear: bool, learn_file: Any, as_json: bool
) -> None:
    pm = _phrases(cfg)
    try:
        if pause or resume:
            pm.set_paused(pause)
            err_console.print("learning paused" if pause else "learning resumed")
        if clear:
            n = pm.clear()
            err_console.print(f"cleared {n} learned phrases")
        if learn_file is not None:
            rep = pm.learn_text(learn_file.read())
            err_console.print(
                f"learned {rep.stored} phrases" + (f" ({rep.skipped_reason})" if rep.skipped_reason else "")
            )
        if learned:
            rows = pm.view()
            if as_json:
                click.echo(json.dumps({"paused": pm.paused, "phrases": [asdict(p) for p in rows]}, indent=2))
                return
            state = "paused" if pm.paused else "on"
            err_console.print(f"learning is {state}; {pm.count()} phrases stored in {pm.path}")
            for p in rows:
                ctx = f"…{p.context} " if p.context else ""
                sys.stdout.write(f"{p.count:>4}  {ctx}→ {p.text}\n")
    finally:
        pm.close()
