"""LibreTranslate-compatible /translate, /languages, /detect and the native /v1/skills/translate on a
real daemon, translating en->pt with the real Bergamot model."""

from __future__ import annotations

from typing import Any, Iterator

import httpx
import pytest

from assistant.client import Client, ClientOptions
from runtime.config import Config
from assistant.services import Services
from tests.daemon.helpers import Daemon, start_daemon, stop_daemon

pytestmark = pytest.mark.real_model


@pytest.fixture(scope="module")
def tr_daemon(tmp_path_factory: pytest.TempPathFactory, real_runtime: Any) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("tr")
    services = Services(Config.from_env({"ASSISTANT_HOME": str(root)}), runtime=real_runtime)
    d = start_daemon(root, services)
    yield d
    stop_daemon(d)


def test_libretranslate_form_body_as_its_client_sends(tr_daemon: Daemon) -> None:
    # what the `libretranslate` Python client sends: urlencoded q/source/target/format/api_key
    with tr_daemon.tcp("translator") as c:
        r = c.post(
            "/translate",
            data={
                "q": "I went for a walk in the park.",
                "source": "en",
                "target": "pt",
                "format": "text",
                "api_key": "",
            },
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert "no parque" in body["translatedText"] and "detectedLanguage" not in body
        assert (
            r.headers["x-translation-engine"] == "bergamot" and r.headers["x-translation-quality"] == "high"
        )
        # multipart form, as browsers' FormData and `requests(files=...)` send it
        r = c.post(
            "/translate", files={"q": (None, "Good morning."), "source": (None, "en"), "target": (None, "pt")}
        )
        assert r.status_code == 200 and "Bom dia" in r.json()["translatedText"]


def test_libretranslate_json_body_auto_source_and_lists(tr_daemon: Daemon) -> None:
    with tr_daemon.tcp("translator") as c:
        r = c.post("/translate", json={"q": "Good morning, how are you?", "source": "auto", "target": "pt"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert "Bom dia" in body["translatedText"]
        assert (
            body["detectedLanguage"]["language"] == "en"
            and 50 < body["detectedLanguage"]["confidence"] <= 100
        )
        r = c.post(
            "/translate",
            json={
                "q": ["Good morning.", "Thank you very much.", "42"],
                "source": "auto",
                "target": "pt",
                "format": "html",
            },
        )
        out = r.json()
        assert isinstance(out["translatedText"], list) and len(out["translatedText"]) == 3
        assert "Bom dia" in out["translatedText"][0] and "obrigad" in out["translatedText"][1].lower()
        assert out["translatedText"][2] == "42"
        assert [d["language"] for d in out["detectedLanguage"][:2]] == ["en", "en"]
        html = c.post(
            "/translate", json={"q": "<p>Good morning.</p>", "source": "en", "target": "pt", "format": "html"}
        ).json()["translatedText"]
        assert html.startswith("<p>") and html.endswith("</p>") and "Bom dia" in html


def test_languages_and_detect(tr_daemon: Daemon) -> None:
    with tr_daemon.tcp("translator") as c:
        langs = {x["code"]: x for x in c.get("/languages").json()}
        assert langs["en"] == {"code": "en", "name": "English", "targets": ["pt"]}
        assert "en" in langs["pt"]["targets"]
        found = c.post("/detect", data={"q": "Eu gosto muito de café com leite."}).json()
        assert found[0]["language"] == "pt" and 50 < found[0]["confidence"] <= 100
        assert c.post("/detect", json={"q": "The weather is lovely today."}).json()[0]["language"] == "en"


def test_unknown_language_and_unsupported_pair_are_400_listing_pairs(tr_daemon: Daemon) -> None:
    with tr_daemon.tcp("translator") as c:
        r = c.post("/translate", data={"q": "Hello", "source": "en", "target": "xx"})
        assert r.status_code == 400, r.text
        err = r.json()["error"]
        assert err["code"] == "unsupported_pair" and "en-pt" in err["message"] and "xx" in err["message"]
        r = c.post(
            "/v1/skills/translate", json={"text": "Hello", "source": "en", "target": "de", "allow_llm": False}
        )
        assert r.status_code == 400 and "installed pairs: en-pt, pt-en" in r.json()["error"]["message"]
        assert "argosmodel" in r.json()["error"]["fix"]
        r = c.post("/translate", data={"source": "en", "target": "pt"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "q"


def test_native_endpoint_reports_route_and_needs_scope(tr_daemon: Daemon) -> None:
    opts = ClientOptions(base_url=tr_daemon.url, token=tr_daemon.tokens["translator"])
    with Client(opts) as c:
        r = c.translate("Eu gosto de café.", target="en")
        assert "coffee" in r.text.lower() and r.engine == "bergamot" and r.quality == "high"
        assert r.source == "pt" and r.detected is not None and r.detected.language == "pt"
        assert r.route[0].direction == "pt-en"
        pairs = c.call("translate_pairs")
        assert {"en-pt", "pt-en"} <= set(pairs.pairs)
    with tr_daemon.tcp("chatter") as c:
        assert c.post("/translate", data={"q": "Hi", "target": "pt"}).status_code == 403
    r = httpx.post(f"{tr_daemon.url}/translate", data={"q": "Hi", "target": "pt", "api_key": "x"})
    assert r.status_code == 401  # api_key alone is not a token: apps send Authorization: Bearer


def test_libretranslate_client_with_api_key_in_the_form_works_unchanged(tr_daemon: Daemon) -> None:
    """What the `libretranslate` Python client sends: a urlencoded form with `api_key`, no header."""
    import httpx

    token = tr_daemon.tokens["translator"]
    with httpx.Client(base_url=tr_daemon.url, timeout=60) as c:
        r = c.post(
            "/translate", data={"q": "Good morning.", "source": "en", "target": "pt", "api_key": token}
        )
        assert r.status_code == 200, r.text
        assert r.json()["translatedText"] == "Bom dia."
        bad = c.post(
            "/translate", data={"q": "Good morning.", "source": "en", "target": "pt", "api_key": "nope"}
        )
        assert bad.status_code == 401
        assert c.get("/languages", params={"api_key": token}).status_code == 200
