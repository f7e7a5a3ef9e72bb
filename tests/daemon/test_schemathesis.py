"""schemathesis over every HTTP operation of a real daemon on 127.0.0.1, with a real token.

The operations come from the daemon's own /openapi.json at run time, so a route added to the
endpoint table is fuzzed without touching this file. Non-HTTP transports (WebSockets, MCP's
streamable HTTP at /mcp) are left out; their owners test their messages with hypothesis.

The CLI runs in a subprocess (its own event loop and worker threads, as a user would run it) against
daemons started by conftest.py. It fails on any 5xx, any response that does not match the documented
schema or status codes, and any operation that refuses most of what its schema allows
(tests/daemon/schemathesis.toml). The seed is fixed and examples per operation are bounded, so a CI run
takes well under a minute and a failure reproduces.

Deeper run (README, "Fuzzing"): ASSISTANT_FUZZ_EXAMPLES=200 ASSISTANT_FUZZ_PHASES=examples,coverage,fuzzing
ASSISTANT_FUZZ_REPORT=benchmarks/results/fuzz ASSISTANT_FUZZ_TIMEOUT=7200 pytest --timeout=0
tests/daemon/test_schemathesis.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.helpers import Daemon

pytest.importorskip("schemathesis")  # needs Python 3.11+

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = 20261201
EXAMPLES = int(os.environ.get("ASSISTANT_FUZZ_EXAMPLES", "20"))
REAL_EXAMPLES = int(os.environ.get("ASSISTANT_FUZZ_REAL_EXAMPLES", "8"))
# The coverage phase (boundary values of every field, every method) is not bounded by the example
# count: about 2,200 cases, two minutes here. CI runs the bounded phases; the deeper run adds it.
PHASES = os.environ.get("ASSISTANT_FUZZ_PHASES", "examples,fuzzing")
RUN_TIMEOUT = float(os.environ.get("ASSISTANT_FUZZ_TIMEOUT", "900"))  # seconds for one schemathesis run
CHECKS = ",".join(
    (
        "not_a_server_error",
        "response_schema_conformance",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
    )
)
HOOKS = "tests.daemon.schemathesis_hooks"  # test data: real audio for uploads, short generations


def not_http() -> str:
    """Return a regex of the paths that are not plain HTTP: every WebSocket route (a GET answers 426)
    and MCP's streamable transport at /mcp. Their messages have their own hypothesis tests."""
    from assistant.daemon.handlers import collect_websockets

    paths = sorted(re.escape(p) for p in collect_websockets())
    return "^(/mcp.*" + "".join(f"|{p}" for p in paths) + ")$"


def run_schemathesis(
    d: Daemon,
    out: Path,
    *,
    examples: int,
    include: str | None = None,
    phases: str = PHASES,
) -> dict[str, Any]:
    """Run `schemathesis run` against d over TCP with the admin token; return the JSON report with
    the console output under "output" and the exit status under "returncode"."""
    out.mkdir(parents=True, exist_ok=True)
    with d.unix() as client:  # /openapi.json needs a token on TCP; the Unix socket is the user's
        doc = client.get("/openapi.json").json()
    schema = out / "openapi.json"
    schema.write_text(json.dumps(doc))
    report = out / "schemathesis.json"
    cmd = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        str(schema),
        "--url",
        d.url,
        "--header",
        f"Authorization: Bearer {d.tokens['admin']}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(examples),
        "--seed",
        str(SEED),
        "--phases",
        phases,
        "--workers",
        "2",
        "--request-timeout",
        "120",
        "--exclude-path-regex",
        not_http(),
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--output-truncate",
        "true",
    ]
    if include:
        cmd += ["--include-path-regex", include]
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1", SCHEMATHESIS_HOOKS=HOOKS)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    result: dict[str, Any] = json.loads(report.read_text()) if report.exists() else {}
    result["output"] = proc.stdout + proc.stderr
    result["returncode"] = proc.returncode
    keep = os.environ.get("ASSISTANT_FUZZ_REPORT")
    if keep:  # the deeper run keeps its summary (the token is only in the command, never stored)
        dest = Path(keep)
        dest.mkdir(parents=True, exist_ok=True)
        name = out.name
        (dest / f"{name}.txt").write_text(_scrub(result["output"], d))
        shutil.copy(report, dest / f"{name}.json") if report.exists() else None
        _scrub_file(dest / f"{name}.json", d)
    return result


def _scrub(text: str, d: Daemon) -> str:
    for token in d.tokens.values():
        text = text.replace(token, "<token>")
    return text


def _scrub_file(path: Path, d: Daemon) -> None:
    if path.exists():
        path.write_text(_scrub(path.read_text(), d))


def _explain(result: dict[str, Any]) -> str:
    return result["output"][-6000:]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:no OS keyring")
def test_every_operation_survives_schemathesis(fuzz_daemon: Daemon, tmp_path: Path) -> None:
    """The whole API over the fake engine: no 5xx, responses as documented, schema as validated."""
    result = run_schemathesis(fuzz_daemon, tmp_path / "fake-engine", examples=EXAMPLES)
    assert result["returncode"] == 0, _explain(result)
    ops = result.get("operations") or {}
    assert ops.get("tested", 0) >= 20, _explain(result)  # every operation ran, not a filtered few


@pytest.mark.slow
@pytest.mark.real_model
@pytest.mark.filterwarnings("ignore:no OS keyring")
def test_chat_and_completions_survive_schemathesis_on_a_real_model(daemon: Daemon, tmp_path: Path) -> None:
    """The generation endpoints on real llama.cpp inference (SmolLM2), where the engine itself is fed
    what schemathesis makes: empty prompts, control characters, any script, odd stop lists and seeds."""
    result = run_schemathesis(
        daemon,
        tmp_path / "real-model",
        examples=REAL_EXAMPLES,
        include=r"^/v1/(chat/)?completions$",
        # the fake-engine run covers these operations' boundary values (same schema); on their
        # recursive schema the coverage phase once failed inside schemathesis itself
        phases="examples,fuzzing",
    )
    assert result["returncode"] == 0, _explain(result)
    assert (result.get("operations") or {}).get("selected", 0) == 2, _explain(result)
    assert (result.get("test_cases") or {}).get("generated", 0) >= REAL_EXAMPLES, _explain(result)
