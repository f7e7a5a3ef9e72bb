"""Word error rate, for tests and benchmarks."""

from __future__ import annotations

import re

# Whisper writes small numbers as digits or as words depending on context ("nine" vs "9"): both
# sides are spelled out, so neither transcript is charged for a formatting choice
_NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()


def words(text: str) -> list[str]:
    """Return text as lower-case words without punctuation (hyphens split words, 0-20 spelled out)."""
    out = re.findall(r"[\w']+", text.lower().replace("-", " "))
    return [_NUMBERS[int(w)] if w.isdigit() and int(w) <= 20 else w for w in out]


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
