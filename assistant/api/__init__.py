"""The wire types and the one endpoint table shared by the daemon and the client SDK.

Every HTTP endpoint is declared exactly once, as an `Endpoint(name, method, path, scope,
request, response, stream)` in a module of this package. The daemon (`assistant.daemon.app`)
registers a handler for each entry of `ENDPOINTS`; the client (`assistant.client`) calls them
by the same objects (`client.call(CHAT, request)`) or by name (`client.call("chat", {...})`).

Adding a skill's endpoints is two new modules plus one line in each of two tables:

1. `assistant/api/<skill>.py`: pydantic wire types (requests subclass `Wire`, so unknown fields
   are ignored) and the endpoints, e.g.::

       TRANSLATE = Endpoint("translate", "POST", "/v1/translate", "translate",
                            TranslateRequest, TranslateResponse, summary="...")
       ENDPOINTS = (TRANSLATE,)

   then add `*<skill>.ENDPOINTS,` to `ENDPOINTS` below (line 1 of 2).
2. `assistant/daemon/handlers/<skill>.py`: `def handlers() -> dict[str, Handler]`, mapping each
   endpoint name to `async def handle(ctx, body, app, request)`; see
   `assistant/daemon/handlers/__init__.py` for the contract. Then add `"<skill>"` to
   `HANDLER_MODULES` there (line 2 of 2). The daemon refuses to start if an endpoint has
   no handler, and `tests/daemon/test_table.py` checks paths, names and scopes are unique and valid.

Handlers reach their skill with `ctx.services.skill("<skill>")`, get the caller's
`AppIdentity` (name, scopes) as `app`, and raise `AssistantError` subclasses for refusals;
`assistant.daemon.errors` maps them to HTTP statuses in one place. Scopes are listed in
`SCOPES`; "admin" implies all of them. The speech engineer adds `/v1/audio/transcriptions`
and `/v1/audio/translations` this way too (multipart bodies: declare `request=None` and read
the form in the handler).
"""

from __future__ import annotations

from assistant.api import autocomplete, core, mcp, memory, ollama, openai, speech, translate, tts
from assistant.api.base import ANY_APP, SCOPES, Endpoint, ErrorBody, ErrorDetail, Wire

ENDPOINTS: tuple[Endpoint, ...] = (
    *core.ENDPOINTS,
    *openai.ENDPOINTS,
    *autocomplete.ENDPOINTS,
    *memory.ENDPOINTS,
    *translate.ENDPOINTS,
    *speech.ENDPOINTS,
    *tts.ENDPOINTS,
    *ollama.ENDPOINTS,
    *mcp.ENDPOINTS,
)

BY_NAME: dict[str, Endpoint] = {e.name: e for e in ENDPOINTS}


def endpoint(name: str) -> Endpoint:
    """Return the endpoint called name; KeyError lists the known names."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no endpoint {name!r}; endpoints: {', '.join(sorted(BY_NAME))}") from None


__all__ = [
    "ANY_APP",
    "SCOPES",
    "ENDPOINTS",
    "BY_NAME",
    "Endpoint",
    "ErrorBody",
    "ErrorDetail",
    "Wire",
    "endpoint",
]
