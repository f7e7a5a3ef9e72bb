"""Word error rate, for tests and benchmarks."""

from __future__ import annotations

import re


def words(text: str) -> list[str]:
    """Return text as lower-case words without punctuation (hyphens split words)."""
    return re.findall(r"[\w']+", text.lower().replace("-", " "))


def wer(reference: str, hypothesis: str) -> float:
    """Return (substitutions + deletions + insertions) / reference words."""
    ref, hyp = words(reference), words(hypothesis)
    if not ref:
        return float(bool(hyp))
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            cur = min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
            prev, row[j] = row[j], cur
    return row[-1] / len(ref)
