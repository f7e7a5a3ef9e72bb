"""The README's API table is the endpoint table: every route with its scope, and every MCP tool.

When a route or tool is added, regenerate the block with `python -m tests.daemon.test_api_table`.
"""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- api-table:start -->", "<!-- api-table:end -->"


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    """The Markdown for the README block, from assistant.api.ENDPOINTS and the MCP tool table."""
    from assistant.api import ENDPOINTS
    from assistant.mcp.table import RESOURCES, TOOLS

    rows = ["| Method | Route | Scope | What |", "|---|---|---|---|"]
    for e in ENDPOINTS:
        scope = f"`{e.scope}`" if e.scope else "any app"
        if e.open_on_unix:
            scope += " (none on the Unix socket)"
        rows.append(f"| {e.method} | `{e.path}` | {scope} | {cell(e.summary)} |")
    rows += ["", "| MCP tool or resource | Scope | What |", "|---|---|---|"]
    rows += [f"| `{t.name}` | `{t.scope}` | {cell(t.description)} |" for t in TOOLS]
    rows += [f"| `{r.uri}` | `{r.scope}` | {cell(r.description)} |" for r in RESOURCES]
    return "\n".join(rows)


def block(text: str) -> str:
    m = re.search(re.escape(START) + r"\n(.*?)\n" + re.escape(END), text, re.S)
    assert m, f"README.md has no {START} ... {END} block"
    return m.group(1)


def test_readme_lists_every_route_with_its_scope() -> None:
    expected = render()
    assert block(README.read_text()) == expected, (
        "README's API table is out of date: run `python -m tests.daemon.test_api_table`"
    )


def main() -> None:
    text = README.read_text()
    old = f"{START}\n{block(text)}\n{END}"  # the whole block with its markers: replaced once, nowhere else
    README.write_text(text.replace(old, f"{START}\n{render()}\n{END}", 1))


if __name__ == "__main__":
    main()
