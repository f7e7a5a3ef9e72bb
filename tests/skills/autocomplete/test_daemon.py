"""POST /v1/skills/autocomplete and its feedback endpoint on a real daemon (fake engines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


import assistant.api as api
from runtime.config import Config
from assistant.services import Services


def test_endpoints_are_registered() -> None:
    from assistant.api.autocomplete import ENDPOINTS

    assert all(api.BY_NAME.get(e.name) is e for e in ENDPOINTS)


def test_endpoint_completes_learns_and_checks_scope(tmp_path: Path, make_fake: Any) -> None:
    from tests.daemon.helpers import start_daemon

    ac = make_fake(reply="world is round.")
    services = Services(Config.from_env({"ASSISTANT_HOME": str(tmp_path)}), overrides={"autocomplete": ac})
    d = start_daemon(tmp_path, services)
    try:
        token = d.registry.add("editor", "autocomplete")
        d.tokens["editor"] = token
        with d.tcp("editor") as c:
            r = c.post("/v1/skills/autocomplete", json={"session": "doc1", "prefix": "Hello "})
            assert r.status_code == 200 and r.json()["suggestions"][0]["text"] == "world is round."
            r = c.post("/v1/skills/autocomplete", json={"session": "doc1", "prefix": "Hello wo"})
            assert r.json()["suggestions"][0]["source"] == "type_through"
            for _ in range(2):
                f = c.post("/v1/skills/autocomplete/feedback", json={"prefix": "Regards, ", "text": "Ana"})
                assert f.status_code == 200 and f.json()["learned"] > 0
            f = c.post(
                "/v1/skills/autocomplete/feedback", json={"prefix": "pin ", "text": "1234", "sensitive": True}
            )
            assert f.json()["learned"] == 0
        assert ("editor", "doc1") in ac.sessions()
        with d.tcp("chatter") as c:
            assert c.post("/v1/skills/autocomplete", json={"prefix": "x"}).status_code == 403
    finally:
        d.server.server.should_exit = True
        d.thread.join(5)
