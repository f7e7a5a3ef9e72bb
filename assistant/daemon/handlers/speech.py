"""Handlers for /v1/audio/transcriptions and /translations (OpenAI-compatible) and the live
captions WebSocket /v1/audio/captions."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import replace
from typing import Any, Iterator, Literal

import anyio
from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from assistant.api import speech as W
from assistant.daemon.apps import AppIdentity
from assistant.daemon.errors import ApiRefusal, BadRequest, TooLarge, body_of, status_of
from assistant.daemon.handlers import Handler, HandlerContext, WebSocketHandler
from runtime.errors import AssistantError

log = logging.getLogger(__name__)
ENGLISH_MODEL = "whisper-tiny.en"
MULTILINGUAL_MODEL = "whisper-base"


class UpgradeRequired(ApiRefusal):
    status, code = 426, "upgrade_required"


def stt_model(
    requested: str, task: str, language: str | None, catalog: Any, installed: dict[str, Any]
) -> str:
    """Return the store id for a requested model name: ids of speech models (catalog or installed)
    as given; "whisper-1" and unknown names to tiny.en (English transcription) or base (anything else).
    installed maps installed ids to their roles."""
    manifest = catalog.get(requested)
    roles = (
        tuple(getattr(manifest, "roles", ())) if manifest is not None else tuple(installed.get(requested, ()))
    )
    if "stt" in roles:
        return requested
    if manifest is not None or requested in installed:
        raise BadRequest(
            f"model {requested} is not a speech-to-text model",
            f'use "whisper-1", {ENGLISH_MODEL} or {MULTILINGUAL_MODEL}',
            field="model",
        )
    return ENGLISH_MODEL if task == "transcribe" and language in (None, "en") else MULTILINGUAL_MODEL


def decode(data: bytes, max_seconds: float) -> Any:
    """Return 16 kHz mono float32 samples of an audio file's bytes; BadRequest when it is not audio,
    TooLarge when it lasts longer than max_seconds. Compressed audio can be tiny for its length
    (1.6 MB of OGG holds 30 minutes), so the length is checked from the container's header first and
    then while decoding, which stops at the cap: a file that lies in its header is not decoded whole."""
    if not data:
        raise BadRequest("the audio file is empty", "send a WAV, MP3, OGG, FLAC or WebM file", field="file")
    fd, path = tempfile.mkstemp(prefix="assistant-audio-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            return _decode_capped(path, max_seconds)
        except TooLarge:
            raise
        except Exception as exc:  # PyAV raises many types (InvalidDataError, EOFError, ValueError ...)
            raise BadRequest(
                f"the file is not audio that can be decoded ({type(exc).__name__}: {exc})"[:300],
                "send a WAV, MP3, OGG, FLAC or WebM file",
                field="file",
            ) from None
    finally:
        os.unlink(path)


def _too_long(seconds: float | None, max_seconds: float) -> TooLarge:
    said = f"{seconds / 60:.1f} minutes long" if seconds is not None else "longer than the limit"
    return TooLarge(
        f"the audio is {said}; the daemon takes at most {max_seconds / 60:g} minutes per upload",
        "send a shorter recording, or stream it to /v1/audio/captions",
        field="file",
    )


def _decode_capped(path: str, max_seconds: float) -> Any:
    """Decode and resample to 16 kHz mono, as faster_whisper.decode_audio does, stopping past the cap."""
    import av
    import numpy as np

    limit = int(max_seconds * W.SAMPLE_RATE)
    resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=W.SAMPLE_RATE)
    chunks: list[Any] = []
    n = 0
    with av.open(path, mode="r", metadata_errors="ignore") as container:
        if not container.streams.audio:
            raise ValueError("the file has no audio stream")
        if container.duration is not None:  # from the header (WAV size, FLAC STREAMINFO, Ogg's last page)
            seconds = container.duration / av.time_base
            # some durations are estimates (VBR MP3 from its bitrate): refuse from the header only
            # well past the cap; near it, the exact count while decoding decides
            if seconds > max_seconds * 1.1 + 1.0:
                raise _too_long(seconds, max_seconds)
        for frame in _valid_frames(container.decode(audio=0), av.error.InvalidDataError):
            for out in resampler.resample(frame):
                array = out.to_ndarray().reshape(-1)
                n += len(array)
                if n > limit:
                    raise _too_long(None, max_seconds)
                chunks.append(array)
        for out in resampler.resample(None):
            array = out.to_ndarray().reshape(-1)
            n += len(array)
            if n > limit:
                raise _too_long(None, max_seconds)
            chunks.append(array)
    if not chunks:
        raise ValueError("no audio frames")
    return np.concatenate(chunks).astype(np.float32) / 32768.0


def _valid_frames(frames: Iterator[Any], invalid: type[Exception]) -> Iterator[Any]:
    """Yield frames, skipping ones the decoder calls invalid (as faster_whisper.decode_audio does)."""
    while True:
        try:
            yield next(frames)
        except StopIteration:
            return
        except invalid:
            continue


def has_speech(audio: Any) -> bool:
    """Whether Silero VAD finds any speech: silence and noise must not reach Whisper, which invents text."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return bool(get_speech_timestamps(audio, VadOptions()))


def _recognise(
    ctx: HandlerContext, body: W.AudioRequest, task: Literal["transcribe", "translate"]
) -> tuple[Any, str, float]:
    from runtime.engines.whisper import SttOptions

    rt = ctx.services.runtime
    installed = {m.id: m.roles for m in rt.store.list()}
    model = stt_model(body.model, task, body.language, rt.store.catalog, installed)
    audio = decode(body.file.data, ctx.settings.max_audio_seconds)
    duration = len(audio) / W.SAMPLE_RATE
    if not has_speech(audio):
        return None, model, duration
    speech = ctx.services.skill("speech")
    opts = SttOptions(language=body.language, task=task, window="short")
    return speech.transcribe(audio, model, opts), model, duration


async def _audio(ctx: HandlerContext, body: W.AudioRequest, task: Literal["transcribe", "translate"]) -> Any:
    result, model, duration = await ctx.to_thread(_recognise, ctx, body, task)
    text = result.text.strip() if result is not None else ""
    if body.response_format == "text":
        return PlainTextResponse(text + "\n" if text else "")
    if body.response_format == "json":
        return W.Transcription(text=text)
    words = list(result.words) if result is not None else []
    verbose = W.TranscriptionVerbose(
        task=task,
        language=(result.language if result is not None else body.language) or "en",
        duration=round(duration, 3),
        text=text,
        model=model,
        segments=[W.TranscriptionSegment(id=0, start=words[0].start, end=words[-1].end, text=text)]
        if words
        else [],
        words=[
            W.TranscriptionWord(word=w.text.strip(), start=round(w.start, 3), end=round(w.end, 3))
            for w in words
        ],
    )
    return JSONResponse(verbose.model_dump())


async def transcriptions(
    ctx: HandlerContext, body: W.AudioRequest, app: AppIdentity, request: Request
) -> Any:
    return await _audio(ctx, body, "transcribe")


async def translations(ctx: HandlerContext, body: W.AudioRequest, app: AppIdentity, request: Request) -> Any:
    return await _audio(ctx, body, "translate")


async def captions_http(ctx: HandlerContext, body: None, app: AppIdentity, request: Request) -> Any:
    raise UpgradeRequired(
        "/v1/audio/captions is a WebSocket",
        "connect with ws:// (Upgrade: websocket), "
        'send PCM s16le 16 kHz mono frames and then the text message "end"',
    )


# -- live captions ---------------------------------------------------------------------------------
async def _refuse(websocket: WebSocket, exc: AssistantError) -> None:
    """Refuse a WebSocket handshake with the JSON error body, or a policy close where the server
    cannot send an HTTP answer during the handshake."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(JSONResponse(body_of(exc), status_code=status_of(exc)))
    else:
        await websocket.close(code=1008, reason=exc.message[:120])


async def _authenticate(websocket: WebSocket) -> AppIdentity:
    """Return the caller of a WebSocket: the same Host/Origin checks and bearer token as HTTP."""
    from assistant.daemon.security import Guard, is_unix, require_scope

    settings = websocket.app.state.settings
    if not is_unix(websocket.scope):
        # the Guard middleware passes WebSockets through unchecked; run its TCP checks here
        guard = Guard(websocket.app, settings.allowed_origins, settings.max_body_bytes)
        refusal = guard._check_tcp(
            websocket.scope, websocket.headers.get("host", ""), websocket.headers.get("origin")
        )
        if refusal is not None:
            raise refusal
    return await require_scope("stt")(websocket)  # type: ignore[arg-type]  # reads headers/app/state, as on a Request


def _options(websocket: WebSocket) -> Any:
    from pydantic import ValidationError

    from skills.speech import StreamOptions

    try:
        q = W.CaptionsOptions.model_validate(dict(websocket.query_params))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "query"
        raise BadRequest(
            f"{field}: {first.get('msg', 'invalid')}",
            "see CaptionsOptions in assistant.api.speech",
            field=field,
        ) from None
    options = StreamOptions(model=q.model, language=q.language, task=q.task, translate_to=q.translate_to)
    return options if q.step is None else replace(options, step=q.step)


def _message(ev: Any) -> dict[str, Any]:
    return W.CaptionMessage(
        type=ev.kind,
        text=ev.text,
        start=round(ev.start, 3),
        end=round(ev.end, 3),
        lag=round(ev.lag, 3),
        rtf=round(ev.rtf, 3),
        language=ev.language,
        note=ev.note,
    ).model_dump(exclude_none=True)


async def captions(ctx: HandlerContext, websocket: WebSocket) -> None:
    """Serve one captions stream: frames in, caption events out, until "end" or a disconnect."""
    t0 = time.perf_counter()
    try:
        app = await _authenticate(websocket)
        options = _options(websocket)
    except AssistantError as exc:
        ctx.metrics.observe("captions", status_of(exc), time.perf_counter() - t0)
        await _refuse(websocket, exc)
        return
    await websocket.accept()
    status = 200
    send, receive = anyio.create_memory_object_stream[Any](max_buffer_size=10_000)
    transcriber = None
    try:
        transcriber = await ctx.to_thread(lambda: ctx.services.skill("speech").transcriber(options))
        await websocket.send_json({"type": "ready", "language": options.language})

        async def reader() -> None:
            # frames keep arriving while a pass computes; they queue here and are fed together
            async with send:
                while True:
                    msg = await websocket.receive()
                    if msg["type"] == "websocket.disconnect":
                        await send.send(None)
                        return
                    if msg.get("bytes") is not None:
                        await send.send(msg["bytes"])
                    elif _is_end(msg.get("text")):
                        await send.send(b"")
                        return

        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            if not await _stream(ctx, websocket, transcriber, receive):
                status = 499  # the client went away: nothing left to send to
                tg.cancel_scope.cancel()
                return
            for ev in await ctx.to_thread(transcriber.finish):
                await websocket.send_json(_message(ev))
            stats = {k: round(v, 4) for k, v in transcriber.stats().items()}
            await websocket.send_json({"type": "done", "stats": stats})
            log.debug("captions for %s: %s", app.name, stats)
        await websocket.close(code=1000)
    except WebSocketDisconnect:
        status = 499
    except AssistantError as exc:
        status = status_of(exc)
        await _send_error(websocket, body_of(exc))
    except Exception as exc:
        status = 500
        log.exception("captions failed")
        await _send_error(
            websocket, {"error": {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"}}
        )
    finally:
        if transcriber is not None:
            transcriber.close()  # finish() hands the engine back; an abandoned stream does it here
        ctx.metrics.observe("captions", status, time.perf_counter() - t0)


def _is_end(text: str | None) -> bool:
    """Whether a text message ends the stream: "end", or {"type": "end"}."""
    import json

    if text is None:
        return False
    if text.strip().lower() == "end":
        return True
    try:
        msg = json.loads(text)
    except ValueError:
        return False
    return isinstance(msg, dict) and msg.get("type") == "end"


async def _stream(ctx: HandlerContext, websocket: WebSocket, transcriber: Any, frames_in: Any) -> bool:
    """Feed queued frames to the transcriber and send its events until "end"; return False if the
    client disconnected first. Frames that arrived during a pass are fed together, as `live` does."""
    import numpy as np

    started: float | None = None
    leftover = b""
    async with frames_in:
        while True:
            frames = [await frames_in.receive()]
            while True:
                try:
                    frames.append(frames_in.receive_nowait())
                except (anyio.WouldBlock, anyio.EndOfStream):
                    break
            if frames[-1] is None:
                return False
            data = leftover + b"".join(f for f in frames if f)
            usable = len(data) // 2 * 2  # a frame may split a sample: keep the odd byte for the next
            leftover = data[usable:]
            if usable:
                started = time.perf_counter() if started is None else started
                chunk = np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0
                # the stream's clock is wall time since its first audio, so lag includes any backlog;
                # audio sent faster than real time (a file) is timed as if it arrived at its own end
                now = max(time.perf_counter() - started, transcriber.audio_time + len(chunk) / W.SAMPLE_RATE)
                for ev in await ctx.to_thread(transcriber.feed, chunk, now):
                    await websocket.send_json(_message(ev))
            if frames[-1] == b"":
                return True


async def _send_error(websocket: WebSocket, body: dict[str, Any]) -> None:
    try:
        await websocket.send_json({"type": "error", **body})
        await websocket.close(code=1011)
    except Exception:  # the client may be gone already
        pass


def handlers() -> dict[str, Handler]:
    return {"transcriptions": transcriptions, "translations": translations, "captions": captions_http}


def websockets() -> dict[str, WebSocketHandler]:
    return {W.CAPTIONS.path: captions}
