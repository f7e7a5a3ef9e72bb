"""`assistant ask`: one grounded answer from the real entry point, as text or JSON, and one-line
errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main


def _run(home: Path, *args: str) -> object:
    env = {"ASSISTANT_HOME": str(home), "ASSISTANT_THREADS": "1"}
    return CliRunner().invoke(main, list(args), env=env)


def test_an_empty_question_is_a_one_line_error(tmp_path: Path) -> None:
    r = _run(tmp_path, "ask", "   ")
    assert r.exit_code == 1  # type: ignore[attr-defined]
    assert "error: the question is empty" in r.output and "Traceback" not in r.output  # type: ignore[attr-defined]


def test_an_unknown_model_is_a_one_line_error(tmp_path: Path) -> None:
    r = _run(tmp_path, "ask", "--no-memory", "--model", "no-such-model", "hi")
    assert r.exit_code == 1 and "error:" in r.output and "Traceback" not in r.output  # type: ignore[attr-defined]


@pytest.mark.real_model
def test_ask_json_answers_from_memory_with_citations(session_home: Path) -> None:
    home = session_home / "ask-home"
    home.mkdir(exist_ok=True)
    models = session_home / "data" / "models"  # the session store: models are installed once
    env = {"ASSISTANT_HOME": str(home), "ASSISTANT_MODELS_DIR": str(models), "ASSISTANT_THREADS": "1"}
    runner = CliRunner()
    push = [
        "memory",
        "push",
        "--app",
        "mail",
        "--kind",
        "message",
        "--title",
        "Lisbon office lease",
        "--body",
        "Could you send me the signed lease contract by Friday?",
        "--person",
        "Ana Lima",
    ]
    assert runner.invoke(main, push, env=env).exit_code == 0
    r = runner.invoke(
        main, ["ask", "--json", "--model", "qwen2.5-coder-0.5b", "What did Ana ask me for?"], env=env
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.output.strip().splitlines()[-1])
    assert set(out) >= {"text", "citations", "model"} and out["model"] == "qwen2.5-coder-0.5b"
    assert "lease" in out["text"].lower() or "contract" in out["text"].lower()
    assert [c["app"] for c in out["citations"]] == ["mail"] and out["citations"][0][
        "title"
    ] == "Lisbon office lease"
