"""Wire types and endpoints of the speech skill: OpenAI-compatible `/v1/audio/transcriptions` and
`/v1/audio/translations` (multipart bodies, as the official clients send), and live captions over
the WebSocket `/v1/audio/captions`.

Models: "whisper-1" and unknown names map to the default store ids (whisper-tiny.en for English
transcription, whisper-base otherwise); store ids such as "whisper-base" are used as given.

Captions protocol (WebSocket, `Authorization: Bearer <token>` with the "stt" scope). Query
parameters are CaptionsOptions' fields. The client sends binary frames of PCM s16le, 16 kHz,
mono, as the audio arrives, then the text message "end". The server sends one JSON
CaptionMessage per event: "partial" (the uncommitted tail, replaced by the next partial),
"committed" (final words, appended), "translated" (a committed sentence in translate_to),
"adapted" (the stream changed settings to keep up), then one "done" with the totals, and closes.
Errors arrive as {"type": "error", "error": {...}} before a close with code 1011 (or 1008 for auth).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, Field, WithJsonSchema, field_validator

from assistant.api.base import Endpoint, Wire
from assistant.api.translate import FormWire

SAMPLE_RATE = 16000
ResponseFormat = Literal["json", "text", "verbose_json"]


class AudioFile(Wire):
    filename: str = "audio"
    content_type: str = "application/octet-stream"
    data: bytes


# Whisper's languages (faster_whisper.tokenizer._LANGUAGE_CODES; tests/daemon/test_wire_limits.py
# checks they agree): another code would fail inside the model, so it is refused here, by name.
WHISPER_LANGUAGES = tuple(
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw he hi hr ht "
    "hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my ne nl nn no oc pa pl "
    "ps pt ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt uk ur uz vi yi yo zh yue".split()
)
_WHISPER = frozenset(WHISPER_LANGUAGES)

# In the OpenAPI document the file is what a multipart client sends: the audio file's bytes.
AUDIO_PART = {"type": "string", "format": "binary", "contentMediaType": "audio/*"}


class AudioRequest(FormWire):
    """multipart/form-data: file, model, language, response_format; prompt and temperature are
    accepted and ignored."""

    file: Annotated[AudioFile, WithJsonSchema(AUDIO_PART)]
    model: str = Field(default="whisper-1", max_length=200)
    language: Optional[str] = Field(
        default=None, max_length=16, json_schema_extra={"enum": [*WHISPER_LANGUAGES]}
    )
    response_format: ResponseFormat = "json"
    prompt: Optional[str] = None
    temperature: Optional[float] = None

    @field_validator("file", mode="before")
    @classmethod
    def _file(cls, value: Any) -> Any:
        if isinstance(value, (str, bytes)):
            raise ValueError("send the audio as a file part of a multipart/form-data body")
        return value

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: Any) -> Any:
        value = value.strip().lower() or None if isinstance(value, str) else value
        if isinstance(value, str) and value not in _WHISPER:
            raise ValueError(
                f"Whisper does not know the language {value!r}; use an ISO 639-1 code such as en or pt"
            )
        return value


class Transcription(BaseModel):
    """response_format=json (the default)."""

    text: str


class TranscriptionWord(BaseModel):
    word: str
    start: float
    end: float


class TranscriptionSegment(BaseModel):
    id: int
    start: float
    end: float
    text: str


class TranscriptionVerbose(BaseModel):
    """response_format=verbose_json."""

    task: Literal["transcribe", "translate"]
    language: str
    duration: float
    text: str
    model: str
    segments: list[TranscriptionSegment]
    words: list[TranscriptionWord]


class CaptionsOptions(BaseModel):
    """Query parameters of the captions WebSocket."""

    model: str = "whisper-tiny.en"
    language: Optional[str] = None
    task: Literal["transcribe", "translate"] = "transcribe"
    translate_to: Optional[str] = None
    step: Optional[float] = Field(
        default=None, ge=0.2, le=10.0
    )  # seconds between passes; None: the skill's default (2 s)


class CaptionMessage(BaseModel):
    """One server message on the captions WebSocket (see the module docstring)."""

    type: Literal["ready", "partial", "committed", "translated", "adapted", "done", "error"]
    text: str = ""
    start: float = 0.0
    end: float = 0.0
    lag: float = 0.0
    rtf: float = 0.0
    language: Optional[str] = None
    note: str = ""
    stats: Optional[dict[str, float]] = None
    error: Optional[dict[str, Any]] = None


TRANSCRIPTIONS = Endpoint(
    "transcriptions",
    "POST",
    "/v1/audio/transcriptions",
    "stt",
    AudioRequest,
    Transcription,
    request_media_type="multipart/form-data",
    summary="OpenAI-compatible speech to text (multipart: file, model, language, response_format).",
    media_types=("text/plain",),  # response_format=text
)
TRANSLATIONS = Endpoint(
    "translations",
    "POST",
    "/v1/audio/translations",
    "stt",
    AudioRequest,
    Transcription,
    request_media_type="multipart/form-data",
    summary="OpenAI-compatible speech to English text (Whisper's translate task).",
    media_types=("text/plain",),  # response_format=text
)
CAPTIONS = Endpoint(
    "captions",
    "GET",
    "/v1/audio/captions",
    "stt",
    summary="Live captions over a WebSocket: send PCM s16le 16 kHz frames, get caption events "
    "(plain HTTP GET answers 426).",
)
ENDPOINTS = (TRANSCRIPTIONS, TRANSLATIONS, CAPTIONS)
