"""Pure text helpers: natural boundaries, stable prompt windows, and words for the phrase model."""

from __future__ import annotations

import re

from skills.autocomplete.types import Kind

_WORD = re.compile(r"[\w'’-]+", re.UNICODE)
_SENTENCE_END = ".!?;:"


def partial_word(prefix: str) -> str:
    """Return the word being typed at the end of prefix ("" right after a space or punctuation)."""
    m = re.search(r"[\w'’-]+$", prefix)
    return m.group(0) if m else ""


def last_words(prefix: str, n: int) -> list[str]:
    """Return the last n complete words before the word being typed, lower-cased."""
    body = prefix[: len(prefix) - len(partial_word(prefix))]
    return [w.lower() for w in _WORD.findall(body)[-n:]]


def words(text: str) -> list[str]:
    """Split text into words (letters, digits, apostrophes, hyphens)."""
    return _WORD.findall(text)


def cut_prose(text: str, finished: bool) -> str:
    """Return text cut at the first natural prose boundary: a line end, or just after a sentence
    or clause mark. When generation stopped for length (not finished), a trailing half word is
    dropped as long as a whole word comes before it, since half words mislead more than they help."""
    line = text.split("\n", 1)[0]
    for i, ch in enumerate(line):
        if ch in _SENTENCE_END and (i + 1 == len(line) or line[i + 1] == " "):
            return line[: i + 1]
    if not finished and "\n" not in text:
        m = re.search(r"^(.*\S)\s+\S*$", line)
        if m and not line.endswith(" "):
            return m.group(1)
    return line.rstrip() if "\n" in text else line


def cut_code(text: str, line_prefix: str) -> str:
    """Return text cut at the end of the statement: the end of the line when the cursor's line
    already has code; for a blank line, the statement and the block it opens, up to a blank line
    or a line indented no deeper than the cursor."""
    if line_prefix.strip():
        return text.split("\n", 1)[0].rstrip()
    indent = len(line_prefix)
    lines = text.split("\n")
    out = [lines[0]]
    for ln in lines[1:]:
        if not ln.strip() or len(ln) - len(ln.lstrip()) <= indent:
            break
        out.append(ln)
    return "\n".join(out).rstrip()


def cut(text: str, kind: Kind, line_prefix: str, finished: bool) -> str:
    """Return text cut at the natural boundary for its kind."""
    return cut_code(text, line_prefix) if kind == "code" else cut_prose(text, finished)


def reached_boundary(text: str, kind: Kind, line_prefix: str) -> bool:
    """Whether text already holds a whole suggestion, so generating more cannot change it."""
    if kind == "code":
        if line_prefix.strip():
            return "\n" in text
        return "\n\n" in text
    line, nl, _ = text.partition("\n")
    return bool(nl) or re.search(r"[.!?;:](\s|$)", line) is not None


def window_start(prefix: str, current: int | None, max_chars: int) -> int:
    """Return where the prompt window starts in prefix.

    The start stays put while the window fits, so consecutive keystrokes give prompts that
    share their beginning and the KV cache is reused; when the text outgrows the window, the
    start jumps forward by half a window to a word boundary (one re-evaluation, then reuse again).
    """
    n = len(prefix)
    if n <= max_chars:
        return 0
    if current is not None and 0 <= current <= n and n - current <= max_chars and _boundary(prefix, current):
        return current
    target = n - max_chars // 2
    for i in range(target, n):
        if _boundary(prefix, i):
            return i
    return target


def _boundary(text: str, i: int) -> bool:
    return i == 0 or (text[i - 1] in " \n\t" and text[i : i + 1] not in (" ", "\t"))


def suffix_window(suffix: str, max_chars: int) -> str:
    """Return the start of suffix, at most max_chars, cut at a line end when there is one."""
    if len(suffix) <= max_chars:
        return suffix
    head = suffix[:max_chars]
    nl = head.rfind("\n")
    return head[: nl + 1] if nl > 0 else head


def line_prefix(prefix: str) -> str:
    """Return the part of the cursor's line before the cursor."""
    return prefix[prefix.rfind("\n") + 1 :]


def is_luhn_number(digits: str) -> bool:
    """Whether a digit string passes the Luhn checksum (card numbers do)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_CARDLIKE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def has_card_number(text: str) -> bool:
    """Whether text holds a 13-19 digit run (spaces or dashes allowed) that passes Luhn."""
    for m in _CARDLIKE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and is_luhn_number(digits):
            return True
    return False
