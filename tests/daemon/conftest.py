"""Real daemons for the daemon tests: uvicorn on a temporary Unix socket and on 127.0.0.1:<free port>.

`daemon` serves the session's real Runtime (SmolLM2 loads once). `fake_daemon` serves a Runtime whose
text engine is the shipped fake (instant, deterministic) with a tiny queue, for busy/timeout and fuzz tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from runtime.config import Config
from tests.daemon.helpers import SMOL, Daemon, start_daemon, stop_daemon


@pytest.fixture(scope="session")
def daemon(tmp_path_factory: pytest.TempPathFactory, real_runtime: Any) -> Iterator[Daemon]:
    from assistant.services import Services

    root = tmp_path_factory.mktemp("d")
    services = Services(
        Config.from_env({"ASSISTANT_HOME": str(root)}).with_(chat_model=SMOL), runtime=real_runtime
    )
    # generous: on a loaded 2-core machine 16 queued chats can take a minute; limits have their own daemon
    d = start_daemon(root, services, max_body_bytes=64 * 1024, request_timeout=300.0)
    yield d
    stop_daemon(d)


def _fake_daemon(
    root: Path,
    store: Any,
    config: Config,
    delay: float,
    queue_timeout: float,
    max_queue: int,
    request_timeout: float,
) -> tuple[Daemon, Any]:
    from assistant.services import Services
    from runtime.engines.fake import FakeTextEngine
    from runtime.runtime import Runtime

    def load_fake(model: Any, plan: Any) -> FakeTextEngine:
        return FakeTextEngine(model.id, reply="fake reply " * 20, token_delay=delay)

    rt = Runtime(
        config.with_(chat_model=SMOL, queue_timeout=queue_timeout), store=store, loaders={"gguf": load_fake}
    )
    rt.scheduler.max_queue = max_queue
    with rt.scheduler.use(SMOL):  # install and "load" before timing anything
        pass
    services = Services(config.with_(chat_model=SMOL, data_dir=root / "data"), runtime=rt)
    return start_daemon(root, services, max_body_bytes=64 * 1024, request_timeout=request_timeout), rt


@pytest.fixture(scope="session")
def fake_daemon(
    tmp_path_factory: pytest.TempPathFactory, real_store: Any, config: Config
) -> Iterator[Daemon]:
    """A daemon over the fake engine (10 ms a token): a 1-deep queue with a 0.3 s wait, to provoke
    429 and 503, and a 1 s request limit."""
    d, rt = _fake_daemon(tmp_path_factory.mktemp("f"), real_store, config, 0.01, 0.3, 1, 1.0)
    yield d
    stop_daemon(d)
    rt.close()


@pytest.fixture(scope="session")
def fuzz_daemon(
    tmp_path_factory: pytest.TempPathFactory, real_store: Any, config: Config
) -> Iterator[Daemon]:
    """A daemon over the instant fake engine with roomy limits: any 5xx from it is a bug."""
    d, rt = _fake_daemon(tmp_path_factory.mktemp("z"), real_store, config, 0.0, 30.0, 64, 30.0)
    yield d
    stop_daemon(d)
    rt.close()


@pytest.fixture(scope="module")
def tts_daemon(tmp_path_factory: pytest.TempPathFactory, real_runtime: Any) -> Iterator[Daemon]:
    """A daemon per module for the speech tests, with a "speaker" (tts) and a "talker" (stt, chat,
    tts) app."""
    from assistant.services import Services

    root = tmp_path_factory.mktemp("tts")
    services = Services(
        Config.from_env({"ASSISTANT_HOME": str(root)}).with_(chat_model=SMOL), runtime=real_runtime
    )
    d = start_daemon(root, services)
    d.tokens["speaker"] = d.registry.add("speaker", "tts")
    d.tokens["talker"] = d.registry.add("talker", "stt,chat,tts")
    yield d
    stop_daemon(d)
