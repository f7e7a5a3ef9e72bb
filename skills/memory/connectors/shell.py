"""Shell history, pushed by the shell itself: `assistant hook bash|zsh|fish` prints a snippet (as
direnv and atuin do) that, after each command, runs `assistant hook push` in the background with
the command, its working directory and exit status. That push goes through the daemon with the
shell's own app token (app "shell"), so it takes the apps' path: scopes, redaction, pause, forget.

Commands that look like they carry secrets are skipped whole (`secret_reason`); commands typed
with a leading space are skipped too (the HISTCONTROL=ignorespace convention).
"""

from __future__ import annotations

import re
import shlex

from skills.memory.connectors.base import ConnectorContext, Cursor, Reading

APP = "shell"
_SECRET_WORDS = re.compile(
    r"(?i)(passw(or)?d|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|"
    r"credential|auth[_-]?key|bearer|authorization:|client[_-]?secret)"
)
_ASSIGN = re.compile(r"(?i)\b[A-Z0-9_]*(KEY|TOKEN|SECRET|PASS|PASSWORD|PWD|AUTH)[A-Z0-9_]*\s*=")
_URL_CREDS = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.I)
_FLAG_PASS = re.compile(r"(?:^|\s)(-p\S+|--pass\S*|-u\s+\S+:\S+|--user\s+\S+:\S+)")
_LONG_TOKEN = re.compile(r"(?<![\w/.-])[A-Za-z0-9+/_=-]{32,}(?![\w/.-])")
_TOOLS = re.compile(r"(?:^|[\s;|&])(sshpass|htpasswd|passwd|gpg\s+--passphrase|openssl\s+\S+.*-pass)\b")


def secret_reason(command: str) -> str | None:
    """Return why a command must not be recorded (it looks like it carries a secret), or None."""
    if command.startswith(" "):
        return "typed with a leading space (kept out of history by convention)"
    checks = (
        (_SECRET_WORDS, "names a password, token or key"),
        (_ASSIGN, "sets a secret-looking variable"),
        (_URL_CREDS, "has credentials in a URL"),
        (_FLAG_PASS, "passes a password flag"),
        (_TOOLS, "runs a password tool"),
    )
    for rx, why in checks:
        if rx.search(command):
            return why
    for m in _LONG_TOKEN.finditer(command):
        tok = m.group(0)
        # long random-looking strings (mixed letters and digits) are keys; long words or paths are not
        if any(c.isdigit() for c in tok) and any(c.isalpha() for c in tok):
            return "holds a long random-looking string"
    return None


def snippet(shell: str, argv: list[str]) -> str:
    """Return the hook code for shell ("bash", "zsh", "fish"); argv runs `assistant` (e.g. [python, -m, assistant.cli])."""
    if shell not in ("bash", "zsh", "fish"):
        from skills.memory.connectors.base import ConnectorError

        raise ConnectorError(f"no hook for the shell {shell!r}", "use bash, zsh or fish", field="shell")
    cmd = " ".join(shlex.quote(a) for a in argv)
    if shell == "bash":
        return f"""# assistant shell hook (bash): records each command in memory through the daemon
__assistant_hook() {{
  local __st=$? __line __num __cmd
  __line=$(HISTTIMEFORMAT= builtin history 1)
  __num=${{__line%%[^ 0-9]*}}; __num=${{__num// /}}
  __cmd=${{__line#*[0-9]  }}
  if [ -n "$__num" ] && [ "$__num" != "${{__assistant_last:-}}" ]; then
    __assistant_last=$__num
    ( {cmd} hook push --shell bash --status "$__st" --cwd "$PWD" -- "$__cmd" >/dev/null 2>&1 & )
  fi
  return $__st
}}
case ";${{PROMPT_COMMAND:-}};" in *";__assistant_hook;"*) ;; *) PROMPT_COMMAND="__assistant_hook${{PROMPT_COMMAND:+;$PROMPT_COMMAND}}";; esac
"""
    if shell == "zsh":
        return f"""# assistant shell hook (zsh): records each command in memory through the daemon
__assistant_preexec() {{ __assistant_cmd=$1 }}
__assistant_precmd() {{
  local __st=$?
  if [ -n "${{__assistant_cmd:-}}" ]; then
    ( {cmd} hook push --shell zsh --status "$__st" --cwd "$PWD" -- "$__assistant_cmd" >/dev/null 2>&1 & )
    __assistant_cmd=
  fi
}}
autoload -Uz add-zsh-hook
add-zsh-hook preexec __assistant_preexec
add-zsh-hook precmd __assistant_precmd
"""
    return f"""# assistant shell hook (fish): records each command in memory through the daemon
function __assistant_postexec --on-event fish_postexec
    set -l __st $status
    {cmd} hook push --shell fish --status $__st --cwd "$PWD" -- "$argv" >/dev/null 2>&1 &
    disown 2>/dev/null
end
"""


def shell_event(command: str, cwd: str, status: int, shell: str, now: float) -> dict[str, object]:
    """Return the memory event for one command."""
    return {
        "kind": "x-shell",
        "title": command.strip()[:500],
        "body": f"ran in {shell} in {cwd}, exit status {status}",
        "uri": f"file://{cwd}" if cwd.startswith("/") else "",
        "created": now,
    }


class ShellHistory:
    """Listed with the others, but the shell pushes its commands itself (see `assistant hook`)."""

    name = "shell"
    app = APP
    interval = 0.0  # not polled
    description = 'commands you run, pushed by `eval "$(assistant hook bash)"` (zsh, fish too)'

    def read(self, ctx: ConnectorContext, cursor: Cursor) -> Reading:
        return Reading((), dict(cursor), "pushed by the shell hook; nothing to read")


__all__ = ["APP", "ShellHistory", "secret_reason", "shell_event", "snippet"]
