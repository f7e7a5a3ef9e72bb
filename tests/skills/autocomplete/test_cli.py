"""`assistant complete`: a real suggestion, and the phrase model's view/pause/clear/learn controls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main


def run(home: Path, *args: str, input: str | None = None) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["complete", *args], env={"ASSISTANT_HOME": str(home)}, input=input)
    return r.exit_code, r.output


def test_learn_view_pause_clear(tmp_path: Path) -> None:
    code, out = run(
        tmp_path, "--learn", "-", input="See you at the gym. See you at the gym. Card 4111 1111 1111 1111."
    )
    assert code == 0 and "learned" in out
    code, out = run(tmp_path, "--learned", "--json")
    data = json.loads(out)
    assert code == 0 and not data["paused"] and any(p["text"] == "at the" for p in data["phrases"])
    assert "4111" not in out
    assert run(tmp_path, "--pause")[0] == 0
    assert json.loads(run(tmp_path, "--learned", "--json")[1])["paused"] is True
    assert run(tmp_path, "--resume")[0] == 0
    code, out = run(tmp_path, "--clear")
    assert code == 0 and "cleared" in out
    assert json.loads(run(tmp_path, "--learned", "--json")[1])["phrases"] == []


def test_no_text_and_no_flag_is_a_usage_error(tmp_path: Path) -> None:
    code, out = run(tmp_path)
    assert code == 2 and "give the text" in out


@pytest.mark.real_model
def test_complete_prints_a_real_suggestion(session_home: Path, smollm_id: str) -> None:
    code, out = run(session_home, "The meeting was moved to next", "--json", "--budget", "120000")
    data = json.loads(out)
    assert code == 0 and data["model_called"] and data["text"].strip()
