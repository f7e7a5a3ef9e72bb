"""The wire types publish what the skills and engines accept; these tests keep the copies honest.

The API layer does not import the skills (their packages load numpy, SQLite, models), so a few rules
are restated in assistant/api/*.py for the OpenAPI document. If a skill changes a rule, this fails.
"""

from __future__ import annotations

import re

import pytest

from assistant.api import ENDPOINTS
from assistant.api import memory as mem_api
from assistant.api import openai as oai_api
from assistant.api import speech as speech_api
from assistant.api import translate as tr_api
from assistant.api.base import REFUSALS, openapi_responses
from runtime.errors import AssistantError


def test_memory_event_rules_match_the_skill() -> None:
    from skills.memory import model

    assert mem_api.KINDS == model.KINDS
    assert mem_api.SENSITIVITY == model.SENSITIVITY
    assert (mem_api.MAX_TEXT, mem_api.MAX_FIELD) == (model.MAX_TEXT, model.MAX_FIELD)


@pytest.mark.parametrize(
    "kind", ["note", "x-todo", "x-a_b", "x-9", "x-", "x-_", "x-é", "Note", "y-todo", "x-" + "a" * 70, ""]
)
def test_the_published_kind_pattern_is_the_skills_rule(kind: str) -> None:
    from skills.memory.ingest import _check_kind

    try:
        _check_kind(kind)
        accepted = True
    except AssistantError:
        accepted = False
    published = re.fullmatch(mem_api.KIND_PATTERN, kind) is not None and len(kind) <= 64
    # the schema may be narrower than the skill (it says ASCII), never wider
    assert published <= accepted, kind
    if kind.isascii():
        assert published == accepted, kind


def test_translate_languages_are_the_detectors() -> None:
    from skills.translate.detect import LanguageDetector

    assert set(tr_api.LANGUAGES) == set(LanguageDetector().languages)
    assert len(set(tr_api.LANGUAGES)) == len(tr_api.LANGUAGES)


def test_whisper_languages_are_whispers() -> None:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    assert set(speech_api.WHISPER_LANGUAGES) == set(_LANGUAGE_CODES)


def test_model_id_pattern_is_the_catalogs() -> None:
    from runtime.catalog import ID_RE
    from runtime.runtime import DEFAULT_CTX
    from skills.memory.embed import MODEL_ID

    from assistant.api import ollama
    from assistant.daemon.handlers import openai as handlers

    assert oai_api.MODEL_ID["pattern"] == ID_RE.pattern
    assert ollama.MODEL_NAME["pattern"].startswith(ID_RE.pattern.rstrip("$"))
    assert oai_api.EMBED_MODEL == MODEL_ID and oai_api.MAX_EMBED_INPUTS == handlers.MAX_EMBED_INPUTS
    assert ollama.MAX_CTX == DEFAULT_CTX


def test_every_operation_documents_its_answers() -> None:
    """Each endpoint's 200 is described (a JSON model, or its other media types), and every refusal
    it can give carries the ErrorBody schema, so schemathesis checks responses everywhere."""
    from assistant.daemon.handlers import collect_websockets

    sockets = set(collect_websockets())
    for ep in ENDPOINTS:
        if ep.path.startswith("/mcp"):
            continue  # MCP's streamable transport: its messages have their own property tests
        websocket = ep.path in sockets
        assert ep.response is not None or ep.media_types or websocket, ep.name
        responses = openapi_responses(ep, websocket)
        for status in REFUSALS:
            assert responses[status]["model"].__name__ == "ErrorBody", (ep.name, status)
        if websocket:
            assert 426 in responses
        if ep.stream is not None:
            assert ep.stream_media_type in responses[200]["content"]
