"""`assistant memory ...` end to end on a real database (keyword paths only: no model needed)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.cli_memory import memory


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    env = {"ASSISTANT_HOME": str(tmp_path)}

    def invoke(*args: str, input: str | None = None) -> click.testing.Result:
        return runner.invoke(main, ["memory", *args], env=env, input=input, catch_exceptions=False)

    return invoke


def test_every_memory_command_has_help() -> None:
    for name, cmd in memory.commands.items():
        assert cmd.help and cmd.help.strip(), f"memory {name} has no help"
        for p in cmd.params:
            if isinstance(p, click.Option):
                assert p.help, f"memory {name} {p.name} has no help"
    assert {"push", "search", "resolve", "forget", "pause", "resume", "stats", "browse"} <= set(
        memory.commands
    )


def test_cli_push_search_resolve_forget_pause_stats(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = run(
        "push",
        "--app",
        "mail",
        "--kind",
        "message",
        "--title",
        "Signed contract",
        "--body",
        "card 4111 1111 1111 1111 attached",
        "--person",
        "Ana Lima",
        "--key",
        "m1",
    )
    assert r.exit_code == 0 and "stored #1, 1 redacted" in r.output
    assert (
        "already stored"
        in run("push", "--app", "mail", "--kind", "message", "--title", "x", "--key", "m1").output
    )
    batch = json.dumps(
        [
            {"kind": "url", "title": "Report Q3.pdf", "uri": "https://x/q3.pdf"},
            {"kind": "note", "title": "buy milk"},
        ]
    )
    r = run("push", "--app", "firefox", "--json", "-", input=batch)
    assert "stored #2" in r.output and "stored #3" in r.output
    hits = json.loads(run("search", "contract", "--keyword", "--json").output)
    assert [h["event"]["id"] for h in hits] == [1] and "[REDACTED:card]" in hits[0]["event"]["body"]
    assert hits[0]["citation"] == "[mem:1]"
    cands = json.loads(run("resolve", "that pdf in the browser", "--json").output)
    assert cands[0]["event"]["id"] == 2 and any("browser" in x for x in cands[0]["reasons"])
    listed = json.loads(run("browse", "--app", "firefox", "--json").output)
    assert [e["id"] for e in listed] == [3, 2]
    assert "paused" in run("pause").output
    r = run("push", "--kind", "note", "--title", "x")
    assert r.exit_code == 1 and "paused" in r.output
    assert "resumed" in run("resume").output
    r = run("push", "--kind", "tweet", "--title", "x")
    assert r.exit_code == 1 and "unknown event kind" in r.output and "fix:" in r.output
    assert "forgot 1 event" in run("forget", "--app", "mail", "--yes").output
    s = json.loads(run("stats", "--json").output)
    assert s["events"] == 2 and s["encrypted"] and s["apps"] == {"firefox": 2}
    text = run("stats").output
    assert "encryption: SQLCipher" in text and "capture: on" in text
    assert "purged 0" in run("retention", "--default", "7d", "--kind", "clipboard=2h").output
    assert "clipboard: 0.0833333 days" in run("retention").output
    assert "chat may now read" in run("grant", "chat").output
    assert "granted to: chat" in run("stats").output
    assert "own events again" in run("revoke", "chat").output
    assert "granted to: nobody" in run("stats").output


def test_cli_opt_out_is_reported(run) -> None:  # type: ignore[no-untyped-def]
    assert "NOT encrypted" in run("init", "--no-encrypt").output
    assert "OFF: the user opted out" in run("stats").output


def test_search_resolves_a_query_that_reads_as_a_reference(run) -> None:  # type: ignore[no-untyped-def]
    batch = json.dumps(
        [
            {"kind": "url", "title": "Report Q3.pdf", "uri": "https://x/q3.pdf"},
            {"kind": "note", "title": "that pdf in the browser is slow"},
        ]
    )
    run("push", "--app", "firefox", "--json", "-", input=batch)
    r = run("search", "that pdf in the browser", "--keyword")
    assert r.exit_code == 0 and "reads as a reference: resolved it" in r.output
    assert "because:" in r.output and r.output.index("#1 ") < r.output.index("#2 ")  # the PDF ranks first
    # --words, --json and filters keep it a search: the note holds those words, the PDF does not
    for extra in (["--words"], ["--app", "firefox"]):
        r = run("search", "that pdf in the browser", "--keyword", *extra)
        assert "reads as a reference" not in r.output and "because:" not in r.output, extra
        assert "#2 " in r.output
    hits = json.loads(run("search", "that pdf in the browser", "--keyword", "--json").output)
    assert hits[0]["event"]["id"] == 2
    assert "reads as a reference" not in run("search", "slow report", "--keyword").output
