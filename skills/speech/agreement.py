"""The LocalAgreement-2 commit policy (after whisper_streaming): a word is committed once two
consecutive passes over the growing audio buffer agree on it; committed words never change."""

from __future__ import annotations

import re

from runtime.engines.whisper import Word


def norm(text: str) -> str:
    """Return a word reduced for comparison: lower case, no punctuation or spaces."""
    return re.sub(r"[^\w']", "", text.lower())


class HypothesisBuffer:
    """Holds the previous pass's uncommitted words and commits the prefix the next pass repeats."""

    def __init__(self) -> None:
        self.previous: list[Word] = []
        self.last_committed_end = 0.0
        self.committed_tail: list[Word] = []  # recent committed words, to drop repeats

    def insert(self, words: list[Word]) -> list[Word]:
        """Take a pass's words (absolute times); return the newly committed ones, in order."""
        new = [w for w in words if w.start > self.last_committed_end - 0.1 and norm(w.text)]
        new = self._drop_repeat(new)
        committed: list[Word] = []
        prev = self.previous
        while new and prev and norm(new[0].text) == norm(prev[0].text):
            word = new.pop(0)
            prev = prev[1:]
            committed.append(word)
            self.last_committed_end = word.end
        self.previous = new
        self.committed_tail = (self.committed_tail + committed)[-8:]
        return committed

    def _drop_repeat(self, new: list[Word]) -> list[Word]:
        # the pass re-hears the end of committed text near the buffer start: drop the longest
        # n-gram of the new head that repeats the committed tail
        if not new or not self.committed_tail or abs(new[0].start - self.last_committed_end) > 1.0:
            return new
        tail = [norm(w.text) for w in self.committed_tail]
        for n in range(min(5, len(tail), len(new)), 0, -1):
            if tail[-n:] == [norm(w.text) for w in new[:n]]:
                return new[n:]
        return new

    def pending(self) -> list[Word]:
        """Return the uncommitted words of the latest pass (the partial caption)."""
        return list(self.previous)

    def flush(self) -> list[Word]:
        """Commit everything pending (end of speech or of the stream) and return it."""
        return self.take(len(self.previous))

    def take(self, n: int) -> list[Word]:
        """Commit the first n pending words without agreement (a stalled buffer) and return them."""
        out, self.previous = self.previous[:n], self.previous[n:]
        if out:
            self.last_committed_end = out[-1].end
            self.committed_tail = (self.committed_tail + out)[-8:]
        return out
