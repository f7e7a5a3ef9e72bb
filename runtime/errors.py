"""The exception tree. Every error names the problem and, where there is one, the fix.

Errors carry data, never prose to parse: `code` (machine-readable, per class), `message`, `fix`,
and `field`, the request or option field the error is about (e.g. "model", "events.2.kind"), set
where the error is raised. Front ends map errors to their own status (the daemon: one table in
assistant/daemon/errors.py) by type and code, never by reading the message.

AssistantError
 ├── ConfigError
 ├── ModelError
 │    ├── ModelNotFound        unknown model id, or not installed
 │    ├── IntegrityError       truncated, corrupted, wrong hash, wrong format
 │    ├── InstallError         download/copy/join failed; the store is left unchanged
 │    ├── LoadError            the engine could not load the model on any device
 │    └── AdapterError         a LoRA adapter is missing or invalid
 ├── InvalidName               a model or app name that tries path traversal
 ├── ContextOverflow           input longer than the model's context, under the "error" policy
 ├── Cancelled                 a generation was cancelled by the caller
 └── Busy                      a queue wait timed out (503)
      └── QueueFull             too many requests already queued (429)
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base error: `str(err)` is one line with the problem and the fix."""

    code = "error"

    def __init__(self, message: str, fix: str | None = None, *, field: str | None = None) -> None:
        self.message = message
        self.fix = fix
        self.field = field
        super().__init__(f"{message}; {fix}" if fix else message)


class ConfigError(AssistantError):
    code = "config_error"


class ModelError(AssistantError):
    code = "model_error"


class ModelNotFound(ModelError):
    code = "model_not_found"


class IntegrityError(ModelError):
    code = "integrity_error"


class InstallError(ModelError):
    code = "install_error"


class LoadError(ModelError):
    code = "load_error"


class AdapterError(ModelError):
    code = "adapter_error"


class InvalidName(AssistantError):
    code = "invalid_name"


class ContextOverflow(AssistantError):
    code = "context_overflow"


class Cancelled(AssistantError):
    code = "cancelled"


class Busy(AssistantError):
    code = "busy"


class QueueFull(Busy):
    code = "queue_full"


__all__ = [
    "AssistantError",
    "ConfigError",
    "ModelError",
    "ModelNotFound",
    "IntegrityError",
    "InstallError",
    "LoadError",
    "AdapterError",
    "InvalidName",
    "ContextOverflow",
    "Cancelled",
    "Busy",
    "QueueFull",
]
