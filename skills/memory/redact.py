"""Redaction before storing: card numbers (Luhn-checked), app-flagged secrets, password fields and
government-ID-like strings. What is redacted never reaches the database, the index or the embedder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

# 13-19 digits, optionally grouped by single spaces or dashes (the way people paste card numbers).
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_PASSWORD = re.compile(
    r"(?i)\b(password|passwd|pwd|passcode|pin|secret|api[_-]?key|token)(\s*[:=]\s*|\s+is\s+)(\S+)"
)
# Guards: a cheap search that every match of a rule also matches, run before the rule's own
# scan. They start with a character class, which Python's regex engine skips to in C, unlike
# the rules' lookbehinds and \b anchors, which it tries at every position.
_CARD_HINT = re.compile(r"\d(?:[ -]?\d){12}")  # the 13 digits every card match holds
_ALPHA_ID_HINT = re.compile(r"[A-Z]{2} ?\d")  # how NINO and IBAN numbers start
# Anything a built-in rule could match has a digit or a password word; most text has neither.
# Checked with substring searches (memchr speed) instead of a regex, which steps through every
# character in Python's regex engine: this is most of the ingest cost for ordinary text.
_DIGITS = "0123456789"
_DIGIT_BYTES = _DIGITS.encode()
_MAYBE = re.compile(r"\d|(?i:pass|pwd|pin|secret|api|token)")  # the same test for non-ASCII text
# Government-ID-like strings: US SSN, UK National Insurance number, Brazilian CPF, IBAN-like account ids.
_GOV = {
    "ssn": re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"),
    "nino": re.compile(r"\b[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"),
    "cpf": re.compile(r"\b\d{3}\.\d{3}\.\d{3}-\d{2}\b"),
    "iban": re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b"),
}


@dataclass(frozen=True)
class RedactOptions:
    """Which redactions run. Each is on by default; `extra` adds (name, regex) pairs of your own."""

    cards: bool = True
    passwords: bool = True
    government_ids: bool = True
    gov_kinds: tuple[str, ...] = ("ssn", "nino", "cpf", "iban")
    extra: tuple[tuple[str, str], ...] = ()


def luhn_ok(digits: str) -> bool:
    """Return whether a digit string passes the Luhn checksum used by card numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class Redactor:
    """Applies RedactOptions to text; compiled once, used for every pushed field."""

    def __init__(self, options: RedactOptions = RedactOptions()) -> None:
        self.options = options
        self._gov = [(k, _GOV[k]) for k in options.gov_kinds if k in _GOV] if options.government_ids else []
        self._extra = [(name, re.compile(rx)) for name, rx in options.extra]

    def clean(self, text: str) -> bool:
        """Return True when no built-in rule can match text (no digit, no password word), and no
        custom rule is configured: the caller may then skip redact() for it."""
        if self._extra:
            return False
        if not text.isascii():  # other scripts' digits, and (?i) case rules, as the rules see them
            return _MAYBE.search(text) is None
        return not _digits(text) and not _has_word(text.lower())

    def redact(self, text: str, secrets: Sequence[str] = ()) -> tuple[str, int]:
        """Return text with sensitive parts replaced by [REDACTED:<what>], and how many were replaced."""
        if not text:
            return text, 0
        n = 0
        if not secrets and self.clean(text):
            return text, 0
        for s in secrets:
            if s and s in text:
                n += text.count(s)
                text = text.replace(s, "[REDACTED:secret]")
        # Cheap guards first (most text has no 13 digits, password word, dash or capital pair), so
        # the rules' own scans, a microsecond or more each, run only where they could match.
        plain = text.isascii()
        if self.options.cards and (_digits(text) >= 13 if plain else _CARD_HINT.search(text)):
            text, k = _CARD.subn(_card_sub, text)
            n += k - text.count("\0")  # _card_sub marks non-Luhn matches it left alone
            text = text.replace("\0", "")
        if self.options.passwords and (not plain or _has_word(text.lower())):
            text, k = _PASSWORD.subn(lambda m: f"{m.group(1)}{m.group(2)}[REDACTED:password]", text)
            n += k
        if self._gov and (not plain or _digits(text)):
            for name, rx in self._gov:
                if plain and not _gov_may_match(name, text):
                    continue
                text, k = rx.subn(f"[REDACTED:{name}]", text)
                n += k
        for name, rx in self._extra:
            text, k = rx.subn(f"[REDACTED:{name}]", text)
            n += k
        return text, n


def _digits(text: str) -> int:
    """Return how many ASCII digits text (ASCII) holds: deleting them from its bytes is one C pass."""
    return len(text) - len(text.encode("ascii").translate(None, _DIGIT_BYTES))


def _has_word(low: str) -> bool:
    """Return whether lower-cased text holds a password word (the same words as _MAYBE and _PASSWORD)."""
    return "pass" in low or "pwd" in low or "pin" in low or "secret" in low or "api" in low or "token" in low


def _gov_may_match(name: str, text: str) -> bool:
    """Return False when the government-ID rule `name` cannot match ASCII text (a guard, not a test)."""
    if name == "ssn":
        return "-" in text
    if name == "cpf":
        return "-" in text and "." in text
    if name in ("nino", "iban"):  # both start with two capitals: text without capitals is skipped at once
        return not text.islower() and _ALPHA_ID_HINT.search(text) is not None
    return True


def _card_sub(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    if 13 <= len(digits) <= 19 and luhn_ok(digits):
        return "[REDACTED:card]"
    return m.group(0) + "\0"  # not a card: keep it, and mark it so it is not counted
