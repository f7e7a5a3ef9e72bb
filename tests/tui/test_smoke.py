"""The real `assistant` entry point in a real terminal (tmux): it reaches the chat screen, answers
one question and exits cleanly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.real_model


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def _wait_screen(session: str, cond, timeout: float) -> str:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    screen = ""
    while time.time() < deadline:
        screen = _tmux("capture-pane", "-p", "-t", session)
        if cond(screen):
            return screen
        time.sleep(0.3)
    raise AssertionError(f"screen never matched; last screen:\n{screen}")


def test_assistant_answers_one_question_and_exits(tmp_path: Path, real_store) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is missing: scripts/setup.sh test installs it")
        pytest.skip("tmux is not installed")
    real_store.ensure("qwen2.5-coder-0.5b")  # the default chat model, as a user gets it
    exe = Path(sys.executable).with_name("assistant")
    session = f"smoke-{uuid.uuid4().hex[:8]}"
    env = f"ASSISTANT_HOME={tmp_path} ASSISTANT_MODELS_DIR={real_store.root} TERM=xterm-256color"
    _tmux(
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        "110",
        "-y",
        "32",
        f"env {env} {exe}; echo EXIT=$?; sleep 30",
    )
    try:
        _wait_screen(session, lambda s: "Conversations" in s and "Send" in s, 60)
        _tmux("send-keys", "-t", session, "What is the capital of France?", "Enter")
        screen = _wait_screen(session, lambda s: "Paris" in s, 120)
        assert "you" in screen and "assistant" in screen
        _tmux("send-keys", "-t", session, "C-q")
        screen = _wait_screen(session, lambda s: "EXIT=" in s, 30)
        assert "EXIT=0" in screen
        assert "Traceback" not in screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
