"""A seeded fuzz run over the served OpenAPI document: no request may produce a 5xx.

schemathesis is not a dependency, so this is a small generator over the same document: for every
operation it sends bodies built from the schema (valid ones, ones with fields dropped, wrong types,
boundary numbers, hostile strings) and random junk, with and without a token. The engine is the fake
one, so the run tests the HTTP layer in a few seconds rather than the model's speed.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from tests.daemon.helpers import SMOL, Daemon

SEED = 20240611
CASES_PER_OPERATION = 120
HOSTILE = [
    "",
    "../../etc/passwd",
    "..",
    "a" * 5000,
    "\u0000",
    "\ud7ff\ue000😀",
    "<script>",
    "%s%n",
    "null",
    SMOL,
    "qwen2.5-coder-0.5b",
    "whisper-tiny.en",
    "Z",
    "-1",
    " ",
    "\n\n",
]
NUMBERS = [0, -1, 1, 2, 2**31, -(2**63), 1e308, 0.5, 3.7, 32768, 32769]


class Gen:
    def __init__(self, doc: dict[str, Any], rng: random.Random) -> None:
        self.doc, self.rng = doc, rng

    def resolve(self, s: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in s:
            node: Any = self.doc
            for part in s["$ref"].lstrip("#/").split("/"):
                node = node[part]
            s = node
        return s

    def value(self, s: dict[str, Any], depth: int = 0) -> Any:
        s = self.resolve(s)
        r = self.rng
        if depth > 5 or r.random() < 0.08:
            return self.junk()
        for key in ("anyOf", "oneOf"):
            if key in s:
                return self.value(r.choice(s[key]), depth + 1)
        if "enum" in s:
            return r.choice(s["enum"])
        if "const" in s:
            return s["const"]
        t = s.get("type")
        if t == "object" or "properties" in s:
            props = s.get("properties", {})
            required = set(s.get("required", []))
            out = {}
            for name, sub in props.items():
                if name in required or r.random() < 0.5:
                    out[name] = self.value(sub, depth + 1)
            if required and r.random() < 0.1:
                out.pop(r.choice(sorted(required)), None)
            return out
        if t == "array":
            return [self.value(s.get("items", {}), depth + 1) for _ in range(r.choice([0, 1, 1, 2, 3]))]
        if t == "string":
            return r.choice(HOSTILE + ["hello", "user", "text"])
        if t == "integer":
            lo, hi = s.get("minimum"), s.get("maximum")
            if lo is not None and hi is not None and r.random() < 0.6:
                return r.randint(int(lo), min(int(hi), int(lo) + 64))
            return int(r.choice(NUMBERS))
        if t == "number":
            return r.choice(NUMBERS + [0.0, 1.0, 2.0])
        if t == "boolean":
            return r.random() < 0.5
        if t == "null":
            return None
        return self.junk()

    def junk(self) -> Any:
        return self.rng.choice([None, 1, -1.5, "x", [], {}, [None], {"a": [1, {"b": None}]}, True, "😀" * 3])


def _bodies(gen: Gen, schema: dict[str, Any]) -> list[bytes]:
    out = []
    for _ in range(CASES_PER_OPERATION):
        body = gen.value(schema)
        if isinstance(body, dict) and "max_tokens" in body and gen.rng.random() < 0.7:
            body["max_tokens"] = gen.rng.randint(1, 16)  # keep most generations short
        out.append(json.dumps(body).encode())
    out += [b"", b"{", b"[]", b"null", b'{"model": ', b"\xff\xfe", b'{"messages": [{"role": "user"}]}' * 2]
    return out


@pytest.mark.filterwarnings("ignore:no OS keyring")  # the memory skill's key-file warning, in CI
def test_fuzz_openapi_finds_no_5xx(fuzz_daemon: Daemon) -> None:
    rng = random.Random(SEED)
    with fuzz_daemon.unix(token=None) as anon:
        doc = anon.get("/openapi.json").json()
    gen = Gen(doc, rng)
    failures: list[str] = []
    sent = 0
    with fuzz_daemon.unix() as admin, fuzz_daemon.unix(token=None) as anon, fuzz_daemon.tcp() as tcp:
        for path, ops in doc["paths"].items():
            for method, op in ops.items():
                content = op.get("requestBody", {}).get("content", {}).get("application/json")
                bodies = _bodies(gen, content["schema"]) if content else [b""] * 5
                for body in bodies:
                    client = rng.choice([admin, admin, admin, anon, tcp])
                    headers = {"Content-Type": rng.choice(["application/json"] * 4 + ["text/plain", ""])}
                    r = client.request(method.upper(), path, content=body, headers=headers)
                    sent += 1
                    if r.status_code >= 500 and r.status_code != 501:
                        failures.append(
                            f"{method.upper()} {path} {body[:200]!r} -> {r.status_code} {r.text[:300]}"
                        )
                    elif r.status_code >= 400:
                        assert r.json()["error"]["message"], r.text  # every refusal has the JSON body
        for _ in range(40):  # paths and methods off the table
            path = rng.choice(
                ["/", "/v1", "/v1/../health", "/%2e%2e/etc", "/v1/models/x", "/metrics/", "/" + "a" * 3000]
            )
            r = admin.request(rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH"]), path, content=b"{}")
            sent += 1
            if r.status_code >= 500:
                failures.append(f"{path} -> {r.status_code} {r.text[:200]}")
    assert sent > 400
    assert not failures, "\n".join(failures[:10])
