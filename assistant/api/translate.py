"""Wire types and endpoints of the translate skill: LibreTranslate-compatible `/translate`,
`/languages` and `/detect`, and the native `/v1/skills/translate` (with engine and quality).

LibreTranslate clients send form-encoded (urlencoded or multipart) or JSON bodies; every request
model here accepts all three (see `form_fields`). Their `api_key` field (query, form or JSON) is
taken as the app token when no `Authorization: Bearer <token>` header is sent, so LibreTranslate
clients work unchanged; the app needs the "translate" scope. Confidences on
the LibreTranslate endpoints are percentages (0-100), as LibreTranslate reports them.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal, Optional, Union
from urllib.parse import parse_qs

from pydantic import BaseModel, Field, RootModel, model_validator

from assistant.api.base import Endpoint, Wire

MAX_TEXTS = 128
# The language codes the translate skill knows whatever is installed: its detector's (py3langid 0.4.0;
# tests/daemon/test_wire_limits.py checks they agree). Published as the schema's enum, so a generated
# client sends codes the daemon understands; validation also takes codes an installed model adds.
LANGUAGES = tuple(
    "ace af am an ar ary arz as az ba bcl be bg bn br bs ca crh cs cy da de dz el en eo es et eu ext fa fi "
    "fo fr fuv fy ga gcf gcr gd gl gom grc gu gug guw ha hbo he hi hr ht hu hy id ig is it ja jv ka kab kik "
    "kk km kn ko ku ky la lb lg lij ln lo lt ltg lv mg mk ml mn mr ms mt my ne nl nn no nso oc om or pa pcm "
    "pl ps pt qu ro ru rw sa sdh se si sk sl sn so sq sr st sv sw ta te tg th tk tl tr tt ug uk ur uz uzs "
    "vec vi vo wa wuu xh yo yue zh zu zxx".split()
)
ENGINES = ("bergamot", "ct2", "llm")


def _language(default: Any = ..., auto: bool = False) -> Any:
    codes = (["auto"] if auto else []) + list(LANGUAGES)
    return Field(default=default, min_length=2, max_length=16, json_schema_extra={"enum": [*codes]})


_DISPOSITION = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def form_fields(raw: bytes | str) -> dict[str, Any]:
    """Return the fields of a body that is not JSON-typed: multipart/form-data, urlencoded, or JSON
    sent under another Content-Type. Repeated fields become lists; multipart files become
    {"filename", "content_type", "data"} dicts."""
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
    head = data.lstrip()[:1]
    if head in (b"{", b"["):
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    if data.startswith(b"--"):
        return _multipart(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the body is neither JSON, urlencoded nor multipart form data") from None
    pairs = parse_qs(text, keep_blank_values=True, strict_parsing=False, max_num_fields=10000)
    return {k: v[0] if len(v) == 1 else v for k, v in pairs.items()}


def _multipart(data: bytes) -> dict[str, Any]:
    # Parsed here rather than by the framework: FastAPI hands a non-JSON body to the model as
    # bytes, and the boundary is the body's first line (no client sends a preamble).
    boundary = data.split(b"\r\n", 1)[0]
    out: dict[str, Any] = {}
    for part in data.split(b"\r\n" + boundary):
        part = part[len(boundary) :] if part.startswith(boundary) else part
        if part.startswith(b"--"):
            break  # the closing delimiter
        head, sep, body = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            continue
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, val = line.partition(":")
            headers[key.strip().lower()] = val.strip()
        params = dict(_DISPOSITION.findall(headers.get("content-disposition", "")))
        name = params.get("name")
        if name is None:
            continue
        if "filename" in params:
            value: Any = {
                "filename": params["filename"],
                "data": body,
                "content_type": headers.get("content-type", "application/octet-stream"),
            }
        else:
            value = body.decode("utf-8", "replace")
        if name in out:
            prev = out[name]
            out[name] = (prev if isinstance(prev, list) else [prev]) + [value]
        else:
            out[name] = value
    return out


class FormWire(Wire):
    """A request model that also accepts form-encoded bodies (see form_fields)."""

    @model_validator(mode="before")
    @classmethod
    def _from_form(cls, data: Any) -> Any:
        if isinstance(data, (bytes, str)):
            return form_fields(data)
        return data


class LibreTranslateRequest(FormWire):
    """LibreTranslate's /translate: q is one text or a list of texts."""

    q: Union[str, list[str]]
    source: str = _language("auto", auto=True)
    target: str = _language()
    format: Literal["text", "html"] = "text"
    alternatives: int = Field(default=0, ge=0, le=3)
    api_key: Optional[str] = None  # ignored: the Authorization header authenticates

    def texts(self) -> list[str]:
        return [self.q] if isinstance(self.q, str) else list(self.q)


class DetectedLanguage(BaseModel):
    language: str
    confidence: float  # percent, 0-100


class LibreTranslateResponse(BaseModel):
    translatedText: Union[str, list[str]]
    detectedLanguage: Union[DetectedLanguage, list[DetectedLanguage], None] = None
    alternatives: Union[list[str], list[list[str]], None] = None
    # beyond LibreTranslate's fields (its clients ignore them): which engine answered, so a chat-model
    # fallback for a pair no dedicated model covers is never passed off as a dedicated translation
    engine: Optional[str] = None
    """e.g. "bergamot", or "llm:qwen2.5-coder-0.5b" for the chat-model fallback; "+"-joined routes."""
    quality: Optional[Literal["high", "lower"]] = None
    """"lower" when the chat model translated any part."""


class LanguageInfo(BaseModel):
    code: str
    name: str
    targets: list[str]


class LanguageList(RootModel[list[LanguageInfo]]):
    pass


class DetectionList(RootModel[list[DetectedLanguage]]):
    pass


class DetectRequest(FormWire):
    q: str = Field(max_length=100_000)
    api_key: Optional[str] = None


class TranslateRequest(Wire):
    """Native translation. engine forces one ("bergamot", "ct2", "llm"); allow_llm permits the
    lower-quality chat-model fallback for pairs no dedicated model covers."""

    text: str = Field(max_length=200_000)
    source: str = _language("auto", auto=True)
    target: str = _language()
    engine: Optional[str] = Field(default=None, max_length=64, json_schema_extra={"enum": [*ENGINES, None]})
    allow_llm: bool = True


class RouteHop(BaseModel):
    engine: str
    direction: str
    quality: str


class Detection(BaseModel):
    language: str
    confidence: float  # 0-1


class TranslateResponse(BaseModel):
    text: str
    source: str
    target: str
    engine: str
    quality: Literal["high", "lower"]
    route: list[RouteHop]
    detected: Optional[Detection] = None
    sentences: int
    cached_sentences: int
    seconds: float


class PairsResponse(BaseModel):
    pairs: list[str]
    languages: list[str]
    llm_fallback: bool


LT_TRANSLATE = Endpoint(
    "lt_translate",
    "POST",
    "/translate",
    "translate",
    LibreTranslateRequest,
    LibreTranslateResponse,
    summary="LibreTranslate-compatible translation (JSON or form body; source may be auto).",
)
LT_LANGUAGES = Endpoint(
    "lt_languages",
    "GET",
    "/languages",
    "translate",
    response=LanguageList,
    summary="LibreTranslate-compatible list of languages: [{code, name, targets}].",
)
LT_DETECT = Endpoint(
    "lt_detect",
    "POST",
    "/detect",
    "translate",
    DetectRequest,
    DetectionList,
    summary="LibreTranslate-compatible language detection: [{language, confidence}] (percent).",
    from_text=lambda text: {"q": text},
)
TRANSLATE = Endpoint(
    "translate",
    "POST",
    "/v1/skills/translate",
    "translate",
    TranslateRequest,
    TranslateResponse,
    summary="Translate text; the answer names the engine route and its quality (lower = LLM fallback).",
)
TRANSLATE_PAIRS = Endpoint(
    "translate_pairs",
    "GET",
    "/v1/skills/translate/pairs",
    "translate",
    response=PairsResponse,
    summary="Installed translation directions and languages, and whether the LLM fallback is on.",
)
ENDPOINTS = (LT_TRANSLATE, LT_LANGUAGES, LT_DETECT, TRANSLATE, TRANSLATE_PAIRS)
