"""A pair no dedicated model covers (en->de) falls back to the chat model, and every front end says so:
the LibreTranslate answer's body and headers, the native answer, and the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.services import Services
from runtime.config import Config
from tests.daemon.helpers import Daemon, start_daemon, stop_daemon

pytestmark = pytest.mark.real_model


@pytest.fixture(scope="module")
def fb_daemon(tmp_path_factory: pytest.TempPathFactory, real_runtime: Any) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("fb")
    services = Services(Config.from_env({"ASSISTANT_HOME": str(root)}), runtime=real_runtime)
    d = start_daemon(root, services)
    yield d
    stop_daemon(d)


def test_libretranslate_answer_names_the_chat_model_fallback(fb_daemon: Daemon) -> None:
    with fb_daemon.tcp("translator") as c:
        r = c.post("/translate", data={"q": "Good morning.", "source": "en", "target": "de"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["translatedText"].strip()
        assert body["engine"].startswith("llm:") and body["quality"] == "lower"
        assert r.headers["x-translation-engine"] == body["engine"]
        # a dedicated model's answer says so too
        r = c.post("/translate", data={"q": "Good morning.", "source": "en", "target": "pt"})
        assert r.json()["engine"] == "bergamot" and r.json()["quality"] == "high"


def test_cli_says_which_engine_answered(session_home: Path) -> None:
    env = {"ASSISTANT_HOME": str(session_home), "ASSISTANT_CHAT_MODEL": "smollm2-135m"}
    r = CliRunner().invoke(main, ["translate", "Good morning.", "--to", "de", "--from", "en"], env=env)
    assert r.exit_code == 0, r.output
    assert "translated by the chat model (llm:smollm2-135m)" in " ".join(r.output.split())
