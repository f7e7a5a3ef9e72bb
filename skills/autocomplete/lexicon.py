"""Instant completion of the word being typed, the way phone keyboards do it.

A model call costs tens of milliseconds on a weak CPU, which is too slow to repeat on every letter.
Inside a word, the best guesses are usually a word already in the document (an identifier in code,
a name or term in prose) or a frequent word of the language. Both are answered in well under a
millisecond: words of the document, most used first, then the model's own vocabulary. A BPE vocabulary
lists its whole-word tokens roughly by corpus frequency (earlier merges are more frequent), so the
token id is a usable frequency rank and no word list has to ship. The model is then called at word
boundaries, where it predicts what comes next.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from typing import Any, Iterable

from skills.autocomplete.types import Kind

_PROSE_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PROSE_PART = re.compile(r"[^\W\d_][\w'’-]*$", re.UNICODE)
_IDENT_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
DOC_CHARS = 3000  # document text read on each side of the cursor: recent words matter most
SCAN_CAP = 4000  # words scanned for the most frequent match (one letter matches ~2k in 30k words)


# A typed word is taken as finished when its completion is this many times rarer. BPE vocabularies
# rank word-start fragments ("upd", "ple") as words too, so 1x also drops right guesses ("upd" ->
# "update"); 3x kept 96% of the characters saved and raised the precision of shown word completions
# by a sixth on the benchmark's letter (bench_autocomplete.py --finished-words).
FINISHED_RATIO = 3


def word_part(prefix: str, kind: Kind) -> str:
    """Return the word (prose) or identifier (code) being typed at the end of prefix, or ""."""
    m = (_IDENT_PART if kind == "code" else _PROSE_PART).search(prefix[-64:])
    return m.group(0) if m else ""


class Lexicon:
    """Words ranked by frequency (first = most frequent), searchable by prefix."""

    def __init__(self, words: Iterable[str]) -> None:
        ranked: dict[str, int] = {}
        for w in words:
            key = w.lower()
            if key not in ranked:
                ranked[key] = len(ranked)
        self._words = sorted(ranked)
        self._rank = [ranked[w] for w in self._words]

    def __len__(self) -> int:
        return len(self._words)

    def rank(self, word: str) -> int | None:
        """Return the frequency rank of word (0 = most frequent), or None when it is not a word here."""
        key = word.lower()
        i = bisect.bisect_left(self._words, key)
        return self._rank[i] if i < len(self._words) and self._words[i] == key else None

    def complete(self, part: str, k: int = 3) -> list[str]:
        """Return up to k words that start with part (case-insensitive) and are longer than it,
        most frequent first, in the case of part's first letter."""
        key = part.lower()
        if not key:
            return []
        lo = bisect.bisect_left(self._words, key)
        hi = bisect.bisect_left(self._words, key + "\U0010ffff", lo)
        idx = [i for i in range(lo, min(hi, lo + SCAN_CAP)) if len(self._words[i]) > len(key) + 1]
        idx.sort(key=self._rank.__getitem__)
        return [_match_case(part, self._words[i]) for i in idx[:k]]


def vocabulary_words(engine: Any, kind: Kind) -> list[str]:
    """Return the whole-word tokens of a llama.cpp model's vocabulary, most frequent first
    ([] for engines without one). Word tokens are the ones that start with the BPE space mark."""
    llm = getattr(engine, "llm", None)
    model = getattr(llm, "_model", None)
    if llm is None or model is None or not hasattr(model, "token_get_text"):
        return []
    pattern = _IDENT if kind == "code" else _PROSE_WORD
    out = []
    for i in range(int(llm.n_vocab())):
        text = model.token_get_text(i)
        if text.startswith(("Ġ", "▁")) and len(text) > 3:
            word = text[1:]
            if pattern.fullmatch(word):
                out.append(word)
    return out


def document_words(prefix: str, suffix: str, kind: Kind, part: str) -> list[str]:
    """Return the words near the cursor, most used first (ties: the latest first), without the
    word being typed."""
    pattern = _IDENT if kind == "code" else _PROSE_WORD
    before = prefix[-DOC_CHARS:]
    if part:
        before = before[: len(before) - len(part)]
    found = pattern.findall(before) + pattern.findall(suffix[:DOC_CHARS])
    counts = Counter(found)
    last = {w: i for i, w in enumerate(found)}
    return sorted(counts, key=lambda w: (-counts[w], -last[w]))


def complete_word(
    part: str,
    kind: Kind,
    prefix: str,
    suffix: str,
    lexicon: Lexicon | None,
    k: int = 3,
    keep_finished: bool = True,
) -> list[str]:
    """Return up to k completions (the text to insert) of the word being typed: document words first,
    then the lexicon. Code matches case exactly; prose ignores case and keeps the typed case."""
    if not part:
        return []
    out: list[str] = []
    low = part.lower()
    # A typed part that is itself a more frequent word than a longer one is most likely finished:
    # "send me" must not become "send method". Prose only: in code a short name is usually a prefix.
    own = lexicon.rank(part) if lexicon is not None and kind == "prose" and keep_finished else None

    def finished_here(word: str) -> bool:
        if own is None or lexicon is None:
            return False
        r = lexicon.rank(word)
        return r is None or r > FINISHED_RATIO * own

    for w in document_words(prefix, suffix, kind, part):
        if finished_here(w):
            continue
        if len(w) > len(part) + 1 and (w.startswith(part) if kind == "code" else w.lower().startswith(low)):
            full = w if kind == "code" else _match_case(part, w)
            if full not in out:
                out.append(full)
        if len(out) >= k:
            break
    if lexicon is not None and len(out) < k:
        for w in lexicon.complete(part, k):
            if kind == "code" and not w.startswith(part) or finished_here(w):
                continue
            if w not in out:
                out.append(w)
            if len(out) >= k:
                break
    return [w[len(part) :] for w in out[:k]]


def _match_case(part: str, word: str) -> str:
    """Return word with the typed part kept as typed: "Mee" + "meeting" -> "Meeting"."""
    return part + word[len(part) :]
