"""Handlers for OpenAI-compatible /v1/audio/speech (streamed sentence by sentence) and the spoken
conversation loop WebSocket /v1/voice."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from typing import Any, Iterator

import anyio
import numpy as np
from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from assistant.api import tts as W
from assistant.daemon.apps import AppIdentity
from assistant.daemon.errors import BadRequest, body_of, status_of
from assistant.daemon.handlers import Handler, HandlerContext, WebSocketHandler
from assistant.daemon.handlers.speech import UpgradeRequired, _is_end, _refuse, _send_error
from runtime.errors import AssistantError, ModelError

log = logging.getLogger(__name__)


def pick_voice(requested_model: str, requested_voice: str, voices: list[str], default: str) -> str:
    """Return the voice id for an OpenAI speech request; BadRequest naming the field otherwise.
    A voice id given as the model is used when the voice is one of OpenAI's names."""
    from skills.voice import find_voice

    found = find_voice(requested_voice, voices)
    if found is not None:
        return found
    if requested_voice.lower() in W.OPENAI_VOICES:
        return requested_model if requested_model in voices else default
    known = ", ".join([*voices, "or an OpenAI voice name such as alloy"])
    raise BadRequest(f"unknown voice {requested_voice!r}", f"use one of: {known}", field="voice")


def _check(body: W.SpeechRequest, voices: list[str], default: str) -> str:
    if body.model not in W.OPENAI_MODELS and body.model not in voices:
        raise BadRequest(
            f"unknown text-to-speech model {body.model!r}",
            f"use {', '.join(W.OPENAI_MODELS)} or a voice id ({', '.join(voices)})",
            field="model",
        )
    if body.response_format not in W.FORMATS:
        raise BadRequest(
            f"response_format {body.response_format!r} is not supported",
            f"use one of: {', '.join(W.FORMATS)} (pcm is 16-bit mono at 24 kHz, as OpenAI's)",
            field="response_format",
        )
    if not any(c.isalnum() for c in body.input):
        raise BadRequest("input has no words to speak", "send some text in input", field="input")
    return pick_voice(body.model, body.voice, voices, default)


def _hold(ctx: HandlerContext, body: W.SpeechRequest) -> tuple[str, Any]:
    from runtime.engines.piper import DEFAULT_VOICE, hold_voice

    voice_id = _check(body, ctx.services.skill("voice").voices(), DEFAULT_VOICE)
    try:
        return voice_id, hold_voice(ctx.services.runtime, voice_id)
    except ModelError as exc:  # a broken or missing voice file: the caller asked for this voice
        exc.field = exc.field or "voice"
        raise


async def speech(ctx: HandlerContext, body: W.SpeechRequest, app: AppIdentity, request: Request) -> Any:
    from runtime.engines.base import TtsOptions
    from skills.voice.sinks import pcm16, resample, wav_header

    voice_id, engine = await ctx.to_thread(_hold, ctx, body)
    runtime = ctx.services.runtime
    fmt = body.response_format
    encoder = None
    if fmt not in ("wav", "pcm"):
        from skills.voice.encode import Encoder

        try:
            encoder = await ctx.to_thread(Encoder, fmt, engine.sample_rate)
        except BaseException:
            runtime.release(voice_id)
            raise
    chunks = engine.synthesize(body.input, TtsOptions(speed=body.speed))

    async def audio() -> Any:
        try:
            if fmt == "wav":
                yield wav_header(engine.sample_rate)
            while True:
                chunk = await ctx.to_thread(next, chunks, None)
                if chunk is None:
                    break
                if encoder is not None:  # the bytes of this sentence that are ready (the rest follows)
                    data = await ctx.to_thread(encoder.write, chunk.samples)
                    if data:
                        yield data
                elif fmt == "wav":
                    yield pcm16(chunk.samples)
                else:
                    yield pcm16(resample(chunk.samples, chunk.sample_rate, W.PCM_RATE))
            if encoder is not None:
                yield await ctx.to_thread(encoder.finish)
        finally:
            chunks.close()
            if encoder is not None:
                encoder.close()
            runtime.release(voice_id)

    return StreamingResponse(audio(), media_type=W.CONTENT_TYPES[fmt])


async def voice_http(ctx: HandlerContext, body: None, app: AppIdentity, request: Request) -> Any:
    raise UpgradeRequired(
        "/v1/voice is a WebSocket",
        'connect with ws:// (Upgrade: websocket), send PCM s16le 16 kHz mono frames, then "end"',
    )


# -- the conversation loop over a WebSocket --------------------------------------------------------
class _QueueSource:
    """A live AudioSource fed by the WebSocket; yields empty chunks while idle, so the loop can
    pass on the answer's events while the user is silent."""

    realtime = True
    sample_rate = 16000

    def __init__(self) -> None:
        self.frames: queue.Queue[np.ndarray | None] = queue.Queue()

    def chunks(self) -> Iterator[np.ndarray]:
        while True:
            try:
                item = self.frames.get(timeout=0.1)
            except queue.Empty:
                yield np.zeros(0, np.float32)
                continue
            if item is None:
                return
            yield item

    def close(self) -> None:
        self.frames.put(None)


class _ClientClockSink:
    """Tracks the answer as the client plays it (from its first frame, in real time)."""

    def __init__(self) -> None:
        self._start: float | None = None
        self._seconds = 0.0
        self._mu = threading.Lock()

    def begin(self, at: float) -> None:
        with self._mu:
            self._start, self._seconds = time.monotonic(), 0.0

    def write(self, samples: np.ndarray, sample_rate: int) -> None:
        with self._mu:
            self._seconds += len(samples) / sample_rate

    def playing(self, at: float) -> bool:
        with self._mu:
            return self._start is not None and time.monotonic() < self._start + self._seconds

    def stop(self, at: float) -> float:
        with self._mu:
            heard = 0.0 if self._start is None else min(self._seconds, time.monotonic() - self._start)
            self._start = None
            return heard

    def close(self) -> None:
        pass


async def _authenticate(websocket: WebSocket) -> AppIdentity:
    """The same Host/Origin checks and bearer token as HTTP; the loop needs stt, chat and tts."""
    from assistant.daemon.security import Guard, is_unix, require_scope

    settings = websocket.app.state.settings
    if not is_unix(websocket.scope):
        guard = Guard(websocket.app, settings.allowed_origins, settings.max_body_bytes)
        refusal = guard._check_tcp(
            websocket.scope, websocket.headers.get("host", ""), websocket.headers.get("origin")
        )
        if refusal is not None:
            raise refusal
    app: AppIdentity | None = None
    for scope in ("stt", "chat", "tts"):
        app = await require_scope(scope)(websocket)  # type: ignore[arg-type]  # reads headers/app/state
    assert app is not None
    return app


def _loop_options(websocket: WebSocket) -> W.VoiceLoopOptions:
    from pydantic import ValidationError

    try:
        return W.VoiceLoopOptions.model_validate(dict(websocket.query_params))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "query"
        raise BadRequest(
            f"{field}: {first.get('msg', 'invalid')}", "see VoiceLoopOptions", field=field
        ) from None


def _message(ev: Any) -> dict[str, Any]:
    msg = W.VoiceMessage(type=ev.kind, turn=ev.turn, text=ev.text, at=round(ev.at, 3))
    if ev.kind == "audio":
        msg.sample_rate = ev.sample_rate
    if ev.citations:
        msg.citations = [c.__dict__ for c in ev.citations]
    if ev.stats is not None:
        msg.stats = ev.stats.to_dict()
    return msg.model_dump(exclude_none=True)


def _caller(app: AppIdentity) -> Any:
    """The memory identity of the app; None (answers without memory) when it may not read memory."""
    from skills.memory.model import Caller

    scopes = frozenset(s for s in ("memory:read", "memory:write") if s in app.scopes or "admin" in app.scopes)
    return Caller(app.name, scopes) if "memory:read" in scopes else None


async def voice(ctx: HandlerContext, websocket: WebSocket) -> None:
    """Serve one conversation: audio frames in, events and answer audio out, until "end"."""
    from dataclasses import replace

    from skills.voice import VoiceOptions, find_voice

    t0 = time.perf_counter()
    try:
        app = await _authenticate(websocket)
        q = _loop_options(websocket)
        skill = ctx.services.skill("voice")
        voices = await ctx.to_thread(skill.voices)
        found = find_voice(q.voice, voices)
        if found is None:
            raise BadRequest(f"unknown voice {q.voice!r}", f"use one of: {', '.join(voices)}", field="voice")
        q.voice = found
    except AssistantError as exc:
        ctx.metrics.observe("voice", status_of(exc), time.perf_counter() - t0)
        await _refuse(websocket, exc)
        return
    await websocket.accept()
    base = VoiceOptions()
    options = replace(
        base,
        mode=q.mode,
        barge_in=q.barge_in,
        chat=replace(base.chat, model=q.model, grounding=q.grounding),
    )
    source = _QueueSource()
    sink = _ClientClockSink()
    send, receive = anyio.create_memory_object_stream[Any](max_buffer_size=10_000)
    status = 200
    loop_holder: dict[str, Any] = {}

    def post(item: tuple[str, Any]) -> None:
        try:
            anyio.from_thread.run(send.send, item)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            source.close()  # the writer is gone (client left): stop listening

    def run_loop() -> None:
        # a worker thread: the loop is synchronous (model calls); events go back to the event loop
        try:
            with skill.loop(options, _caller(app), q.voice) as loop:
                loop_holder["loop"] = loop
                post(("ready", loop.tts.sample_rate))
                for ev in loop.run(source, sink):
                    post(("event", ev))
        except Exception as exc:
            post(("error", exc))
        finally:
            post(("end", None))

    async def reader() -> None:
        leftover = b""
        while True:
            msg = await websocket.receive()
            if msg["type"] == "websocket.disconnect":
                gone = loop_holder.get("loop")
                if gone is not None:  # nobody is listening: the answer in progress stops now
                    gone.stop()
                source.close()
                return
            data = msg.get("bytes")
            if data is not None:
                data = leftover + data
                usable = len(data) // 2 * 2
                leftover = data[usable:]
                if usable:
                    source.frames.put(np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0)
                continue
            text = msg.get("text")
            if _is_end(text):
                source.close()
                return
            kind = _control(text)
            loop = loop_holder.get("loop")
            if loop is not None and kind == "press":
                loop.press()
            elif loop is not None and kind == "release":
                loop.release()

    failure: list[BaseException] = []

    async def writer() -> None:
        async with receive:
            async for kind, item in receive:
                if kind == "ready":
                    await websocket.send_json({"type": "ready", "sample_rate": item, "voice": q.voice})
                elif kind == "event":
                    await websocket.send_json(_message(item))
                    if item.kind == "audio" and item.samples is not None:
                        from skills.voice.sinks import pcm16

                        await websocket.send_bytes(pcm16(item.samples))
                elif kind == "error":
                    failure.append(item)  # raised after the task group, so it keeps its type
                    return
                else:
                    return

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            tg.start_soon(anyio.to_thread.run_sync, run_loop)
            await writer()
            tg.cancel_scope.cancel()
        if failure:
            raise failure[0]
        await websocket.close(code=1000)
    except WebSocketDisconnect:
        status = 499
        source.close()
    except AssistantError as exc:
        status = status_of(exc)
        source.close()
        await _send_error(websocket, body_of(exc))
    except Exception as exc:
        status = 500
        source.close()
        log.exception("voice loop failed")
        await _send_error(
            websocket, {"error": {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"}}
        )
    finally:
        ctx.metrics.observe("voice", status, time.perf_counter() - t0)


def _control(text: str | None) -> str | None:
    if not text:
        return None
    try:
        msg = json.loads(text)
    except ValueError:
        return text.strip().lower()
    return msg.get("type") if isinstance(msg, dict) else None


def handlers() -> dict[str, Handler]:
    return {"speech": speech, "voice": voice_http}


def websockets() -> dict[str, WebSocketHandler]:
    return {W.VOICE.path: voice}
