"""Sync and async clients for the daemon, over its Unix socket or loopback TCP.

    with Client.from_config() as c:                 # the local user's socket and owner token
        print(c.chat("Hello").choices[0].message.content)
        for text in c.chat_stream("Tell me a story", max_tokens=64):
            print(text, end="")
        c.call("models")                            # any endpoint in assistant.api, by name or object

Errors:
  DaemonError(AssistantError)        the daemon refused: .status, .code, .field and its message
  DaemonUnavailable(AssistantError)  nothing is listening where the client looked
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Iterator, Mapping, Sequence, Union

import httpx
from pydantic import BaseModel

from assistant.api import Endpoint, endpoint
from assistant.api import memory as M
from assistant.api import openai as W
from assistant.api import speech as S
from assistant.api import translate as T
from assistant.api.core import Health
from runtime.config import Config
from runtime.errors import AssistantError

Body = Union[BaseModel, Mapping[str, Any], None]
Audio = Union[bytes, Path]
Messages = Union[str, Sequence[Union[Mapping[str, Any], W.Message]]]


class DaemonError(AssistantError):
    """The daemon answered with an error; str() is its message and fix."""

    def __init__(
        self, status: int, code: str, message: str, fix: str | None = None, field: str | None = None
    ):
        super().__init__(message, fix)
        self.status, self.code, self.field = status, code, field


class DaemonUnavailable(AssistantError):
    code = "daemon_unavailable"


@dataclass(frozen=True)
class ClientOptions:
    """Where the daemon is and how to authenticate.

    socket_path: the daemon's Unix socket; used when base_url is None.
    base_url: e.g. "http://127.0.0.1:8765" for the TCP listener.
    token: the app's token (`assistant apps add`); None sends none (only /health on the socket works).
    timeout: seconds to wait for each read; generation can take a while.
    """

    socket_path: Path | None = None
    base_url: str | None = None
    token: str | None = None
    timeout: float = 600.0

    @classmethod
    def from_config(cls, config: Config | None = None, token: str | None = None) -> "ClientOptions":
        """Return options for the local daemon: its socket, and the owner token unless one is given."""
        from assistant.daemon.settings import DaemonConfig

        cfg = config or Config.from_env()
        settings = DaemonConfig.from_config(cfg)
        if token is None and settings.owner_token_path.exists():
            token = settings.owner_token_path.read_text().strip()
        return cls(socket_path=settings.socket_path, token=token)

    def where(self) -> str:
        return self.base_url or f"unix:{self.socket_path}"

    def httpx_args(self) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {
            "base_url": self.base_url or "http://localhost",
            "headers": headers,
            "timeout": httpx.Timeout(self.timeout, connect=5.0),
        }


def _resolve(ep: Endpoint | str) -> Endpoint:
    return ep if isinstance(ep, Endpoint) else endpoint(ep)


def _payload(ep: Endpoint, body: Body, stream: bool) -> dict[str, Any] | None:
    if ep.request is None:
        return None
    data = (
        body.model_dump(exclude_none=True, by_alias=True) if isinstance(body, BaseModel) else dict(body or {})
    )
    if stream:
        data["stream"] = True
    elif data.get("stream"):
        data["stream"] = False
    return data


def _messages(messages: Messages) -> list[dict[str, Any]]:
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    return [m.model_dump(exclude_none=True) if isinstance(m, BaseModel) else dict(m) for m in messages]


def _error(resp: httpx.Response, text: str) -> DaemonError:
    try:
        detail = json.loads(text)["error"]
        return DaemonError(
            resp.status_code,
            str(detail.get("code", "error")),
            str(detail.get("message", text)),
            detail.get("fix"),
            detail.get("field"),
        )
    except (ValueError, KeyError, TypeError):
        return DaemonError(resp.status_code, "http_error", f"HTTP {resp.status_code}: {text[:200]}")


def _parse(ep: Endpoint, resp: httpx.Response) -> Any:
    if resp.status_code >= 400:
        raise _error(resp, resp.text)
    if ep.response is None:
        return resp.text
    return ep.response.model_validate_json(resp.content)


def _event(ep: Endpoint, line: str) -> Any:
    """Return the parsed SSE event in line, None for non-data lines, StopIteration sentinel for [DONE]."""
    if not line.startswith("data:"):
        return None
    data = line[5:].strip()
    if data == "[DONE]":
        return _DONE
    if data.startswith('{"error"'):
        detail = json.loads(data)["error"]
        raise DaemonError(
            200,
            detail.get("code", "error"),
            detail.get("message", data),
            detail.get("fix"),
            detail.get("field"),
        )
    assert ep.stream is not None
    return ep.stream.model_validate_json(data)


_DONE = object()


def _events(events: Sequence[Mapping[str, Any] | BaseModel]) -> list[dict[str, Any]]:
    return [e.model_dump(exclude_none=True) if isinstance(e, BaseModel) else dict(e) for e in events]


def _audio_form(audio: Audio, model: str, language: str | None) -> dict[str, Any]:
    """Return httpx keyword arguments for a multipart audio upload, as OpenAI clients send it."""
    name, data = (
        ("audio.wav", audio) if isinstance(audio, bytes) else (Path(audio).name, Path(audio).read_bytes())
    )
    fields = {"model": model, **({"language": language} if language else {})}
    return {"files": {"file": (name, data, "application/octet-stream")}, "data": fields}


def _unavailable(opts: ClientOptions, exc: Exception) -> DaemonUnavailable:
    return DaemonUnavailable(
        f"no assistant daemon answers at {opts.where()} ({exc})",
        "start it with `assistant daemon start` (or `assistant daemon run` in a terminal)",
    )


class Client:
    """Blocking client; one connection pool, closed by close() or `with`."""

    def __init__(self, options: ClientOptions, transport: httpx.BaseTransport | None = None) -> None:
        self.options = options
        if transport is None and options.base_url is None:
            transport = httpx.HTTPTransport(uds=str(options.socket_path))
        self._http = httpx.Client(transport=transport, **options.httpx_args())

    @classmethod
    def from_config(cls, config: Config | None = None, token: str | None = None) -> "Client":
        return cls(ClientOptions.from_config(config, token))

    def call(self, ep: Endpoint | str, body: Body = None) -> Any:
        """Call an endpoint and return its typed response (text for non-JSON endpoints)."""
        e = _resolve(ep)
        try:
            resp = self._http.request(e.method, e.path, json=_payload(e, body, False))
        except (httpx.ConnectError, FileNotFoundError) as exc:
            raise _unavailable(self.options, exc) from None
        return _parse(e, resp)

    def stream(self, ep: Endpoint | str, body: Body = None) -> Iterator[Any]:
        """Yield the typed SSE events of a streaming endpoint; closing the iterator stops generation."""
        e = _resolve(ep)
        if e.stream is None:
            raise ValueError(f"endpoint {e.name} does not stream")
        try:
            with self._http.stream(e.method, e.path, json=_payload(e, body, True)) as resp:
                if resp.status_code >= 400:
                    raise _error(resp, resp.read().decode("utf-8", "replace"))
                for line in resp.iter_lines():
                    ev = _event(e, line)
                    if ev is _DONE:
                        return
                    if ev is not None:
                        yield ev
        except (httpx.ConnectError, FileNotFoundError) as exc:
            raise _unavailable(self.options, exc) from None

    # -- conveniences -------------------------------------------------------------------------------
    def health(self) -> Health:
        return self.call("health")  # type: ignore[no-any-return]

    def metrics(self) -> str:
        return self.call("metrics")  # type: ignore[no-any-return]

    def models(self) -> W.ModelList:
        return self.call("models")  # type: ignore[no-any-return]

    def chat(self, messages: Messages, **fields: Any) -> W.ChatCompletion:
        """Return a whole chat completion; fields are ChatRequest fields (model, max_tokens, ...)."""
        return self.call("chat", {**fields, "messages": _messages(messages)})  # type: ignore[no-any-return]

    def chat_stream(self, messages: Messages, **fields: Any) -> Iterator[str]:
        """Yield the reply's text as it is generated."""
        for chunk in self.stream("chat", {**fields, "messages": _messages(messages)}):
            for choice in chunk.choices:
                if choice.delta.content:
                    yield choice.delta.content

    def complete(self, prompt: str, **fields: Any) -> W.TextCompletion:
        return self.call("completions", {**fields, "prompt": prompt})  # type: ignore[no-any-return]

    def embed(self, texts: str | list[str], **fields: Any) -> W.EmbeddingList:
        return self.call("embeddings", {**fields, "input": texts})  # type: ignore[no-any-return]

    def memory_push(self, event: Mapping[str, Any] | M.MemoryEvent) -> M.PushResult:
        """Store one event for the calling app (scope memory:write); returns its id."""
        return self.call("memory_push", event)  # type: ignore[no-any-return]

    def memory_push_batch(self, events: Sequence[Mapping[str, Any] | M.MemoryEvent]) -> M.PushBatchResponse:
        return self.call("memory_push_batch", {"events": _events(events)})  # type: ignore[no-any-return]

    def memory_search(self, query: str, **fields: Any) -> M.SearchResponse:
        """Return hits among the events the app may read; fields are SearchRequest fields (mode, limit, apps...)."""
        return self.call("memory_search", {**fields, "query": query})  # type: ignore[no-any-return]

    def memory_resolve(self, text: str, limit: int = 5) -> M.ResolveResponse:
        return self.call("memory_resolve", {"text": text, "limit": limit})  # type: ignore[no-any-return]

    def translate(self, text: str, target: str, source: str = "auto", **fields: Any) -> T.TranslateResponse:
        """Return the translation with its engine route and quality (scope translate)."""
        body = {**fields, "text": text, "target": target, "source": source}
        return self.call("translate", body)  # type: ignore[no-any-return]

    def transcribe(
        self, audio: Audio, model: str = "whisper-1", language: str | None = None, task: str = "transcribe"
    ) -> S.Transcription:
        """Return the text of an audio file (path or bytes); task="translate" gives English (scope stt)."""
        ep = endpoint("translations" if task == "translate" else "transcriptions")
        try:
            resp = self._http.post(ep.path, **_audio_form(audio, model, language))
        except (httpx.ConnectError, FileNotFoundError) as exc:
            raise _unavailable(self.options, exc) from None
        return _parse(ep, resp)  # type: ignore[no-any-return]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient:
    """The same API for asyncio code; every method is a coroutine or an async iterator."""

    def __init__(self, options: ClientOptions, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.options = options
        if transport is None and options.base_url is None:
            transport = httpx.AsyncHTTPTransport(uds=str(options.socket_path))
        self._http = httpx.AsyncClient(transport=transport, **options.httpx_args())

    @classmethod
    def from_config(cls, config: Config | None = None, token: str | None = None) -> "AsyncClient":
        return cls(ClientOptions.from_config(config, token))

    async def call(self, ep: Endpoint | str, body: Body = None) -> Any:
        e = _resolve(ep)
        try:
            resp = await self._http.request(e.method, e.path, json=_payload(e, body, False))
        except (httpx.ConnectError, FileNotFoundError) as exc:
            raise _unavailable(self.options, exc) from None
        return _parse(e, resp)

    async def stream(self, ep: Endpoint | str, body: Body = None) -> AsyncIterator[Any]:
        e = _resolve(ep)
        if e.stream is None:
            raise ValueError(f"endpoint {e.name} does not stream")
        try:
            async with self._http.stream(e.method, e.path, json=_payload(e, body, True)) as resp:
                if resp.status_code >= 400:
                    raise _error(resp, (await resp.aread()).decode("utf-8", "replace"))
                async for line in resp.aiter_lines():
                    ev = _event(e, line)
                    if ev is _DONE:
                        return
                    if ev is not None:
                        yield ev
        except (httpx.ConnectError, FileNotFoundError) as exc:
            raise _unavailable(self.options, exc) from None

    async def health(self) -> Health:
        return await self.call("health")  # type: ignore[no-any-return]

    async def models(self) -> W.ModelList:
        return await self.call("models")  # type: ignore[no-any-return]

    async def chat(self, messages: Messages, **fields: Any) -> W.ChatCompletion:
        return await self.call("chat", {**fields, "messages": _messages(messages)})  # type: ignore[no-any-return]

    async def chat_stream(self, messages: Messages, **fields: Any) -> AsyncIterator[str]:
        async for chunk in self.stream("chat", {**fields, "messages": _messages(messages)}):
            for choice in chunk.choices:
                if choice.delta.content:
                    yield choice.delta.content

    async def complete(self, prompt: str, **fields: Any) -> W.TextCompletion:
        return await self.call("completions", {**fields, "prompt": prompt})  # type: ignore[no-any-return]

    async def embed(self, texts: str | list[str], **fields: Any) -> W.EmbeddingList:
        return await self.call("embeddings", {**fields, "input": texts})  # type: ignore[no-any-return]

    async def memory_push(self, event: Mapping[str, Any] | M.MemoryEvent) -> M.PushResult:
        return await self.call("memory_push", event)  # type: ignore[no-any-return]

    async def memory_push_batch(
        self, events: Sequence[Mapping[str, Any] | M.MemoryEvent]
    ) -> M.PushBatchResponse:
        return await self.call("memory_push_batch", {"events": _events(events)})  # type: ignore[no-any-return]

    async def memory_search(self, query: str, **fields: Any) -> M.SearchResponse:
        return await self.call("memory_search", {**fields, "query": query})  # type: ignore[no-any-return]

    async def memory_resolve(self, text: str, limit: int = 5) -> M.ResolveResponse:
        return await self.call("memory_resolve", {"text": text, "limit": limit})  # type: ignore[no-any-return]

    async def translate(
        self, text: str, target: str, source: str = "auto", **fields: Any
    ) -> T.TranslateResponse:
        body = {**fields, "text": text, "target": target, "source": source}
        return await self.call("translate", body)  # type: ignore[no-any-return]

    async def transcribe(
        self, audio: Audio, model: str = "whisper-1", language: str | None = None, task: str = "transcribe"
    ) -> S.Transcription:
        ep = endpoint("translations" if task == "translate" else "transcriptions")
        try:
            resp = await self._http.post(ep.path, **_audio_form(audio, model, language))
        except (httpx.ConnectError, FileNotFoundError) as exc:
            raise _unavailable(self.options, exc) from None
        return _parse(ep, resp)  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


__all__ = ["Client", "AsyncClient", "ClientOptions", "DaemonError", "DaemonUnavailable"]
