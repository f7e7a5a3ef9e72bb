"""The LocalAgreement-2 commit policy (after whisper_streaming): a word is committed once two
consecutive passes over the growing audio buffer agree on it; committed words never change.

Two refinements over plain prefix agreement, both measured on espeak-ng speech with tiny.en
(benchmarks/bench_speech.py), where each removed whole phrases from the transcript:
- agreeing words must also be heard at the same place in the audio: a pass that decodes one word
  over seconds of speech it skipped does not confirm that word elsewhere;
- the two passes may differ at the head of the pending words and still agree after it: Whisper
  skips, adds or mishears the first words of a window that starts mid-sentence, and with plain
  prefix agreement one unsteady first word blocks every later word until the buffer is cut and
  they are lost. The head is settled (see `resync`) and the agreed words after it commit.
"""

from __future__ import annotations

import re
from typing import Sequence

from runtime.engines.whisper import Word

SAME_PLACE = 1.0  # seconds two passes' times of one word may differ by (word times are approximate)
MAX_SKIP = 20  # words one pass may have heard at the head that the other skipped
MAX_DIFFER = 3  # words at the head both passes heard differently


def norm(text: str) -> str:
    """Return a word reduced for comparison: lower case, no punctuation or spaces."""
    return re.sub(r"[^\w']", "", text.lower())


def same(a: Word, b: Word) -> bool:
    """Whether two passes heard the same word at the same place."""
    return norm(a.text) == norm(b.text) and abs((a.start + a.end) - (b.start + b.end)) / 2 <= SAME_PLACE


def resync(prev: Sequence[Word], new: Sequence[Word]) -> tuple[int, int]:
    """Return (i, j): the heads prev[:i] and new[:j] before the passes agree on two words in a row
    (0, 0 when they agree from the start or nowhere near it). Nearest agreement first."""
    if not prev or not new or same(prev[0], new[0]):
        return 0, 0
    for total in range(1, 2 * MAX_SKIP + 1):
        for i in range(max(0, total - MAX_SKIP), min(total, MAX_SKIP) + 1):
            j = total - i
            if i and j and max(i, j) > MAX_DIFFER:
                continue
            if (
                i + 1 < len(prev)
                and j + 1 < len(new)
                and same(prev[i], new[j])
                and same(prev[i + 1], new[j + 1])
            ):
                return i, j
    return 0, 0


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
        prev = self.previous
        i, j = resync(prev, new)
        # the head the passes disagree on: the pass that heard more words there wins (Whisper
        # drops a window's first words more often than it invents them), the newer one on a tie
        committed: list[Word] = list(new[:j] if j >= i else prev[:i])
        new, prev = new[j:], prev[i:]
        while new and prev and same(new[0], prev[0]):
            committed.append(new.pop(0))
            prev = prev[1:]
        if committed:
            self.last_committed_end = committed[-1].end
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
