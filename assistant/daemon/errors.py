"""HTTP-facing errors and the one place that maps every AssistantError to a status and code.

ApiRefusal(AssistantError)       a refusal the daemon makes itself, carrying status, code, field
 ├── Unauthorized          401  no token, unknown or revoked token
 ├── Forbidden             403  token lacks the scope; Host or Origin refused
 ├── TooLarge              413  body over the limit
 ├── BadRequest            400  malformed input, with the field named
 ├── NotAvailable          501  the feature's skill or engine is not installed
 ├── RequestTimeout        504  the request ran past the daemon's time limit
 └── InternalError         500  a bug: an unexpected exception in a handler (logged with its traceback)

Every other AssistantError gets its status from one table here: runtime errors by type (STATUS:
ModelNotFound 404, QueueFull 429, Busy 503, ...), skill errors by their `code` (CODES), so this
module imports no skill: memory scope_denied 403, invalid_event 422, capture_paused 423,
memory_store_error 500; translate unsupported_pair and translate_error 400. The body's `field`
comes from the error itself (set where it is raised), never from its message.
"""

from __future__ import annotations

from typing import Any

from runtime import errors as E


class ApiRefusal(E.AssistantError):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, fix: str | None = None, field: str | None = None) -> None:
        super().__init__(message, fix, field=field)


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


# The one table from error to HTTP status. Most specific first: the first isinstance match wins.
STATUS: tuple[tuple[type[E.AssistantError], int], ...] = (
    (E.ModelNotFound, 404),
    (E.InvalidName, 400),
    (E.ContextOverflow, 400),
    (E.AdapterError, 400),
    (E.ConfigError, 400),
    (E.QueueFull, 429),
    (E.Busy, 503),
    (E.Cancelled, 499),
    (E.IntegrityError, 500),
    (E.InstallError, 500),
    (E.LoadError, 500),
    (E.ModelError, 400),
)

# Skill errors by their class's `code` (so this module imports no skill); checked before STATUS's
# catch-alls. Codes not listed here or in STATUS answer 500.
CODES: dict[str, int] = {
    "scope_denied": 403,
    "invalid_event": 422,
    "capture_paused": 423,
    "memory_store_error": 500,
    "unsupported_pair": 400,
    "translate_error": 400,
}

# The request field an error class is always about, when the raiser did not name one
FIELD: tuple[tuple[type[E.AssistantError], str], ...] = (
    (E.ModelNotFound, "model"),
    (E.ContextOverflow, "messages"),
)


def status_of(exc: E.AssistantError) -> int:
    """Return the HTTP status for an AssistantError: its own for ApiRefusal, else from the tables."""
    if isinstance(exc, ApiRefusal):
        return exc.status
    if exc.code in CODES:
        return CODES[exc.code]
    return next((status for cls, status in STATUS if isinstance(exc, cls)), 500)


def body_of(exc: E.AssistantError, field: str | None = None) -> dict[str, Any]:
    """Return the JSON error body for exc: code, message, and field and fix where known."""
    detail: dict[str, Any] = {"code": exc.code, "message": exc.message}
    f = field or exc.field or next((v for cls, v in FIELD if isinstance(exc, cls)), None)
    if f:
        detail["field"] = f
    if exc.fix:
        detail["fix"] = exc.fix
    return {"error": detail}
