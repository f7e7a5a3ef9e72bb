"""Wire types and endpoints of text to speech and the spoken conversation loop.

`/v1/audio/speech` is OpenAI-compatible: {model, input, voice, response_format (mp3 when not given,
as OpenAI's), speed}. The audio streams as it is synthesised, one sentence at a time: "wav" is a 16-bit
mono WAV whose header declares an open length (as streaming servers send), "pcm" is raw signed 16-bit
little-endian mono at 24 kHz, as OpenAI's pcm; "mp3" (raw MP3 frames), "opus" (Ogg Opus, 48 kHz), "aac"
(ADTS) and "flac" are encoded as each sentence is synthesised (skills/voice/encode.py). Models: "tts-1",
"tts-1-hd", "gpt-4o-mini-tts" and "piper" use Piper; voices are the ids of installed or catalog Piper
voices (`assistant models list`), and OpenAI's voice names ("alloy", "nova", ...) speak with the default voice.

Voice loop protocol (WebSocket `/v1/voice`, `Authorization: Bearer <token>` with the "stt",
"chat" and "tts" scopes). Query parameters are VoiceLoopOptions' fields. The client sends binary
frames of PCM s16le, 16 kHz, mono, as the audio arrives (a push-to-talk client sends
{"type": "press"} / {"type": "release"} around each utterance), then "end". The server sends one
JSON VoiceMessage per event - "ready", "speech_start", "utterance", "transcript", "resolved",
"token", "sentence", "citations", "barge_in", "no_speech", "turn_done" (with the latency split),
"done" - and the answer's audio as binary frames of PCM s16le mono at `sample_rate` (in "ready"),
each preceded by an "audio" message naming its sentence.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, Field

from assistant.api.base import Endpoint, Wire

OPENAI_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts", "piper")
OPENAI_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
# response_format -> the Content-Type it streams as
CONTENT_TYPES = {
    "wav": "audio/wav",
    "pcm": "audio/pcm",
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
}
FORMATS = tuple(CONTENT_TYPES)
PCM_RATE = 24000


DEFAULT_VOICE = "piper-joe-medium"


class SpeechRequest(Wire):
    """OpenAI's speech request; `instructions` and `stream_format` are accepted and ignored.

    The published schema lists the model, voice and format names that always work; the fields are
    plain strings so that an unknown one gets a 400 naming it (and a voice installed later, or a
    voice id given as the model, still works)."""

    model: str = Field(default="tts-1", max_length=200, json_schema_extra={"enum": list(OPENAI_MODELS)})
    input: str = Field(min_length=1, max_length=4096)  # with a letter or digit in it (the handler checks)
    voice: str = Field(
        default="alloy", max_length=200, json_schema_extra={"enum": [*OPENAI_VOICES, DEFAULT_VOICE]}
    )
    # mp3 when not given, as OpenAI's API: apps written for it save the reply as speech.mp3
    response_format: str = Field(default="mp3", max_length=20, json_schema_extra={"enum": list(FORMATS)})
    speed: float = Field(default=1.0, ge=0.25, le=4.0)
    instructions: Optional[str] = None


class VoiceLoopOptions(BaseModel):
    """Query parameters of the voice loop WebSocket."""

    voice: str = DEFAULT_VOICE
    mode: Literal["hands-free", "push-to-talk"] = "hands-free"
    model: Optional[str] = None  # chat model id; None: the configured chat model
    grounding: bool = True
    barge_in: bool = True


class VoiceMessage(BaseModel):
    """One server message on the voice loop WebSocket (see the module docstring)."""

    type: str
    turn: int = 0
    text: str = ""
    at: float = 0.0
    sample_rate: Optional[int] = None
    citations: Optional[list[dict[str, Any]]] = None
    stats: Optional[dict[str, float]] = None
    error: Optional[dict[str, Any]] = None


SPEECH = Endpoint(
    "speech",
    "POST",
    "/v1/audio/speech",
    "tts",
    SpeechRequest,
    None,
    summary="OpenAI-compatible text to speech (model, input, voice, response_format "
    "mp3 (default)|opus|aac|flac|wav|pcm, speed), streamed sentence by sentence.",
    media_types=tuple(CONTENT_TYPES.values()),
)
VOICE = Endpoint(
    "voice",
    "GET",
    "/v1/voice",
    "tts",
    summary="The spoken conversation loop over a WebSocket: PCM s16le 16 kHz in, events and answer "
    "audio out (plain HTTP GET answers 426).",
)
ENDPOINTS = (SPEECH, VOICE)
