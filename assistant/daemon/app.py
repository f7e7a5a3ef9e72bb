"""create_app(services, settings) -> FastAPI: routes from the one endpoint table, no module globals."""

from __future__ import annotations

import inspect
import json
import logging
import time
from typing import Any

from fastapi import Body, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.api import ENDPOINTS, Endpoint
from assistant.api.base import ANY_APP, TEXT_ERROR, openapi_responses
from assistant.daemon.apps import AppIdentity, AppRegistry
from assistant.daemon.errors import InternalError, body_of, status_of
from assistant.daemon.handlers import Handler, HandlerContext, collect, collect_websockets, mount_websockets
from assistant.daemon.metrics import DaemonMetrics
from assistant.daemon.security import Guard, require_scope
from assistant.daemon.settings import DaemonConfig
from runtime.errors import AssistantError

log = logging.getLogger(__name__)
# A string that is not Unicode text (a lone surrogate): ours from Wire, pydantic's on constrained strings.
TEXT_ERRORS = frozenset((TEXT_ERROR, "string_unicode"))


def create_app(services: Any, settings: DaemonConfig, registry: AppRegistry | None = None) -> FastAPI:
    """Return the daemon's ASGI app serving every endpoint in assistant.api.ENDPOINTS."""
    version = _version()
    metrics = DaemonMetrics()
    app = FastAPI(
        title="assistant",
        version=version,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served below, behind the same token check as every other route
        description="On-device assistant runtime. Authenticate with `Authorization: Bearer <token>`.",
    )
    app.state.registry = registry or AppRegistry(settings.registry_path)
    app.state.metrics = metrics
    app.state.settings = settings
    ctx = HandlerContext(services, settings, metrics, version)
    app.state.context = ctx
    handlers = collect()
    missing = [e.name for e in ENDPOINTS if e.name not in handlers]
    if missing:
        raise AssistantError(
            f"endpoints without a handler: {', '.join(missing)}",
            "add them to a module in assistant/daemon/handlers",
        )
    sockets = set(collect_websockets())
    for ep in ENDPOINTS:
        _register(app, ep, handlers[ep.name], ctx, websocket=ep.path in sockets)
    mount_websockets(app, ctx)  # live captions: /v1/audio/captions
    _openapi_route(app)
    _error_handlers(app, metrics)
    app.add_middleware(
        Guard,
        allowed_origins=settings.allowed_origins,
        max_body_bytes=settings.max_body_bytes,
        on_refusal=metrics.refuse,
    )
    return app


def _register(
    app: FastAPI, ep: Endpoint, handler: Handler, ctx: HandlerContext, websocket: bool = False
) -> None:
    async def route(request: Request, caller: AppIdentity, body: Any = None) -> Any:
        t0 = time.perf_counter()
        status = 200
        try:
            return await handler(ctx, body, caller, request)
        except AssistantError as exc:
            status = status_of(exc)
            raise
        except Exception as exc:
            # answer 500 in the JSON shape and keep the connection; the traceback goes to the log
            status = 500
            log.exception("%s failed", ep.path)
            raise InternalError(
                f"{ep.name} failed: {type(exc).__name__}: {exc}",
                "this is a bug; the daemon log has the traceback",
            ) from exc
        finally:
            ctx.metrics.observe(ep.name, status, time.perf_counter() - t0)

    # FastAPI reads types from the signature; build it from the table entry.
    params = [
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
        inspect.Parameter(
            "caller",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=AppIdentity,
            default=Depends(require_scope(ep.scope, ep.open_on_unix)),
        ),
    ]
    if ep.request is not None:
        params.append(
            inspect.Parameter(
                "body",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=ep.request,
                default=Body(..., media_type=ep.request_media_type),
            )
        )
    route.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    route.__name__ = ep.name.replace(".", "_")
    app.add_api_route(
        ep.path,
        route,
        methods=[ep.method],
        name=ep.name,
        summary=ep.summary or None,
        response_model=ep.response,
        responses=openapi_responses(ep, websocket),
        openapi_extra={"x-scope": ep.scope or "any app"},
    )


def _openapi_route(app: FastAPI) -> None:
    """Serve /openapi.json like /health: open on the Unix socket (only the user can reach it), and
    on TCP to any registered app's token, as every other TCP route."""

    async def openapi(
        caller: AppIdentity = Depends(require_scope(ANY_APP, open_on_unix=True)),
    ) -> JSONResponse:
        return JSONResponse(app.openapi())

    app.add_api_route("/openapi.json", openapi, methods=["GET"], include_in_schema=False)


def _error_handlers(app: FastAPI, metrics: DaemonMetrics) -> None:
    def refuse(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
        metrics.refuse(body["error"]["code"])
        return JSONResponse(body, status_code=status, headers=headers)

    async def on_assistant_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AssistantError)
        status = status_of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if status in (429, 503):
            headers = {"Retry-After": "1"}
        return refuse(status, body_of(exc), headers)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        # a string that is not Unicode text is malformed input (400), whichever union branch saw it
        first = next((e for e in errors if e.get("type") in TEXT_ERRORS), errors[0] if errors else {})
        where = list(first.get("loc", ()))
        # only the leading "body" is FastAPI's: a field may be called body too (a memory event's)
        loc = [str(p) for p in (where[1:] if where[:1] == ["body"] else where)]
        if first.get("type") == "json_invalid":
            return refuse(400, _malformed(str(first.get("ctx", {}).get("error", first.get("msg")))))
        raw = first.get("input")
        if not loc and isinstance(raw, (bytes, str)):
            # FastAPI hands over the raw body when it is not declared JSON: say which problem it is
            try:
                json.loads(raw)
            except ValueError as err:
                return refuse(400, _malformed(str(err)))
            return refuse(
                400,
                {
                    "error": {
                        "code": "bad_content_type",
                        "field": "body",
                        "message": "the body is JSON but Content-Type is not application/json",
                        "fix": "send Content-Type: application/json",
                    }
                },
            )
        field = ".".join(loc) or "body"
        bad_text = first.get("type") in TEXT_ERRORS
        msg = str(first.get("msg", "invalid"))
        if first.get("type") == "string_unicode":  # pydantic's own check, on constrained strings
            msg = "holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text; send valid Unicode"
        return refuse(
            400 if bad_text else 422,
            {
                "error": {
                    "code": "invalid_text" if bad_text else "invalid_field",
                    "field": field,
                    "message": f"{field}: {msg}",
                    "fix": "see the OpenAPI document at /openapi.json",
                }
            },
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:  # FastAPI could not read the body (e.g. bytes that are not UTF-8)
            return refuse(400, _malformed(str(exc.detail)))
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return refuse(exc.status_code, {"error": {"code": code, "message": str(exc.detail)}})

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        return refuse(500, {"error": {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"}})

    app.add_exception_handler(AssistantError, on_assistant_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)


def _malformed(detail: str) -> dict[str, Any]:
    return {
        "error": {
            "code": "malformed_json",
            "field": "body",
            "message": f"the body is not valid JSON: {detail}",
            "fix": "send a JSON object",
        }
    }


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("assistant-runtime")
    except metadata.PackageNotFoundError:
        return "0.0.0"
