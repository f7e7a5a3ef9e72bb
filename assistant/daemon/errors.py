"""HTTP-facing errors and the one place that maps every AssistantError to a status and code.

ApiRefusal(AssistantError)       a refusal the daemon makes itself, carrying status, code, field
 ├── Unauthorized          401  no token, unknown or revoked token
 ├── Forbidden             403  token lacks the scope; Host or Origin refused
 ├── TooLarge              413  body over the limit
 ├── BadRequest            400  malformed input, with the field named
 ├── NotAvailable          501  the feature's skill or engine is not installed
 ├── RequestTimeout        504  the request ran past the daemon's time limit
 └── InternalError         500  a bug: an unexpected exception in a handler (logged with its traceback)

Skill errors are mapped by their `code` (CODES), so this module imports no skill:
memory scope_denied 403, invalid_event 422, capture_paused 423, memory_store_error 500;
translate unsupported_pair and translate_error 400.
"""

from __future__ import annotations

from typing import Any

from runtime import errors as E


class ApiRefusal(E.AssistantError):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, fix: str | None = None, field: str | None = None) -> None:
        super().__init__(message, fix)
        self.field = field


class Unauthorized(ApiRefusal):
    status, code = 401, "unauthorized"


class Forbidden(ApiRefusal):
    status, code = 403, "forbidden"


class TooLarge(ApiRefusal):
    status, code = 413, "too_large"


class BadRequest(ApiRefusal):
    status, code = 400, "bad_request"


class NotAvailable(ApiRefusal):
    status, code = 501, "not_available"


class RequestTimeout(ApiRefusal):
    status, code = 504, "timeout"


class InternalError(ApiRefusal):
    status, code = 500, "internal_error"


# Most specific first: the first isinstance match wins.
STATUS: tuple[tuple[type[E.AssistantError], int], ...] = (
    (ApiRefusal, 400),  # uses its own .status
    (E.ModelNotFound, 404),
    (E.InvalidName, 400),
    (E.ContextOverflow, 400),
    (E.AdapterError, 400),
    (E.ConfigError, 400),
    (E.Busy, 503),
    (E.Cancelled, 499),
    (E.IntegrityError, 500),
    (E.InstallError, 500),
    (E.LoadError, 500),
    (E.ModelError, 400),
    (E.AssistantError, 500),
)

# Skill errors by their class's `code`: checked before STATUS, whose AssistantError row catches all.
CODES: dict[str, int] = {
    "scope_denied": 403,
    "invalid_event": 422,
    "capture_paused": 423,
    "memory_store_error": 500,
    "unsupported_pair": 400,
    "translate_error": 400,
}

# which request field an error is about, when the error class says so
FIELD: dict[type[E.AssistantError], str] = {
    E.ModelNotFound: "model",
    E.InvalidName: "model",
    E.ContextOverflow: "messages",
}


def is_queue_full(exc: E.AssistantError) -> bool:
    """Whether a Busy means "queue full" (429) rather than "waited too long" (503)."""
    # The scheduler raises plain Busy for both; its full-queue message names the queue length.
    return bool(getattr(exc, "queue_full", False)) or "requests queued" in exc.message


def status_of(exc: E.AssistantError) -> int:
    """Return the HTTP status for an AssistantError."""
    if isinstance(exc, ApiRefusal):
        return exc.status
    if isinstance(exc, E.Busy) and is_queue_full(exc):
        return 429
    if exc.code in CODES:
        return CODES[exc.code]
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def code_of(exc: E.AssistantError) -> str:
    """Return the machine-readable code for the error body."""
    if isinstance(exc, E.Busy) and is_queue_full(exc):
        return "queue_full"
    return exc.code


def body_of(exc: E.AssistantError, field: str | None = None) -> dict[str, Any]:
    """Return the JSON error body for exc."""
    detail: dict[str, Any] = {"code": code_of(exc), "message": exc.message}
    f = (
        field
        or getattr(exc, "field", None)
        or next((v for k, v in FIELD.items() if isinstance(exc, k)), None)
    )
    if f:
        detail["field"] = f
    if exc.fix:
        detail["fix"] = exc.fix
    return {"error": detail}
