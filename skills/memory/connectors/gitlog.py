"""Git activity in the repositories the user lists: commits, branch switches, checkouts, merges and
resets, read from the HEAD reflog (.git/logs/HEAD) past a per-repository byte offset, so a run that
finds nothing new costs one stat() per repository and no git process.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from skills.memory.connectors.base import ConnectorContext, Cursor, Item, Reading, idem

# <old sha> <new sha> <name> <<email>> <unix time> <tz>\t<message>
_LINE = re.compile(r"^([0-9a-f]+) ([0-9a-f]+) (.*?) <([^>]*)> (\d+) ([+-]\d{4})\t(.*)$")


def git_dir(repo: Path) -> Path | None:
    """Return the repository's git directory (handles worktrees' .git files), or None."""
    dot = repo / ".git"
    if dot.is_dir():
        return dot
    if dot.is_file():
        text = dot.read_text(errors="replace").strip()
        if text.startswith("gitdir:"):
            p = Path(text[7:].strip())
            return p if p.is_absolute() else (repo / p).resolve()
    if (repo / "HEAD").is_file() and (repo / "objects").is_dir():
        return repo  # a bare repository
    return None


def describe(message: str, repo: str) -> tuple[str, str] | None:
    """Return (title, what) for a reflog message, or None for entries not worth recording."""
    action, _, rest = message.partition(": ")
    rest = rest.strip()
    if action.startswith("commit"):
        kind = {"commit (amend)": "amended commit", "commit (merge)": "merge commit"}.get(action, "commit")
        return f"{kind} in {repo}: {rest}", kind
    if action == "checkout":
        m = re.match(r"moving from (\S+) to (\S+)", rest)
        if m:
            return f"switched to branch {m.group(2)} in {repo} (from {m.group(1)})", "checkout"
        return f"checkout in {repo}: {rest}", "checkout"
    if action.startswith("merge"):
        return f"merged {action[6:].strip() or rest} into {repo}: {rest}", "merge"
    if action.startswith("pull"):
        return f"pulled in {repo}: {rest}", "pull"
    if action.startswith("reset"):
        return f"reset in {repo}: {rest}", "reset"
    if action.startswith("rebase") and "finish" in action:
        return f"rebased in {repo}: {rest}", "rebase"
    if action.startswith("cherry-pick") or action.startswith("revert"):
        return f"{action} in {repo}: {rest}", action
    return None


class GitActivity:
    """Commits and branch switches in listed repositories."""

    name = "git"
    app = "connector:git"
    interval = 120.0
    description = "commits, branch switches and checkouts in the repositories you list"

    def read(self, ctx: ConnectorContext, cursor: Cursor) -> Reading:
        state: dict[str, Any] = {k: dict(v) for k, v in cursor.get("repos", {}).items()}
        items: list[Item] = []
        for raw in ctx.settings.paths:
            repo = Path(raw)
            gd = git_dir(repo)
            if gd is None:
                continue
            log = gd / "logs" / "HEAD"
            try:
                st = log.stat()
            except FileNotFoundError:
                continue
            rec = state.setdefault(str(repo), {"offset": 0, "ino": st.st_ino})
            offset = int(rec.get("offset", 0))
            if rec.get("ino") != st.st_ino or st.st_size < offset:
                offset = 0  # rewritten (reflog expire): idempotency keys keep old entries from doubling
            if st.st_size == offset:
                continue
            with open(log, "rb") as fh:
                fh.seek(offset)
                data = fh.read()
            end = data.rfind(b"\n") + 1  # a line being written now is read next time
            for line in data[:end].decode("utf-8", "replace").splitlines():
                m = _LINE.match(line)
                if not m:
                    continue
                old, new, who, email, t, tz, msg = m.groups()
                found = describe(msg, repo.name)
                if found is None:
                    continue
                title, what = found
                items.append(
                    Item(
                        self.app,
                        {
                            "kind": "x-git",
                            "title": title[:500],
                            "body": f"{what} by {who} in {repo} ({new[:10]})",
                            "uri": f"file://{repo}",
                            "entities": {"people": [who]} if who else {},
                            "created": min(float(t), ctx.now),
                            "idempotency_key": idem(repo, new, t, msg),
                        },
                    )
                )
            rec.update(offset=offset + end, ino=st.st_ino)
        return Reading(tuple(items), {"repos": state}, f"{len(items)} new git events")


__all__ = ["GitActivity", "describe", "git_dir"]
