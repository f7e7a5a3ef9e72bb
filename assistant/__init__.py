"""On-device assistant: CLI, TUI, daemon and client over the local runtime."""

__version__ = "0.1.0"
