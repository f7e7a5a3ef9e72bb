"""Time expressions in reference phrases: "a few hours ago", "yesterday afternoon", "two days ago",
"this morning", "before lunch", "last week", "on Monday" -> a local-time window with a slack.

The window is where the thing most likely happened; the slack is how far outside it a match still
counts a little (people say "a few hours ago" of something five hours old). Resolution scores the
window softly, so a wrong guess at a boundary costs a little, never the answer.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from skills.memory.model import DAY
from skills.memory.text import day_start

HOUR = 3600.0
NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "couple": 2,
    "few": 3,
    "several": 4,
}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Parts of a day as (start hour, end hour) of local time.
PARTS = {
    "morning": (0.0, 12.0),
    "noon": (11.5, 14.0),
    "lunch": (11.5, 14.0),
    "lunchtime": (11.5, 14.0),
    "afternoon": (12.0, 18.0),
    "evening": (17.0, 24.0),
    "tonight": (17.0, 24.0),
    "night": (18.0, 28.0),
}
WORDS = frozenset(
    [
        *NUMBERS,
        *WEEKDAYS,
        *PARTS,
        "ago",
        "yesterday",
        "today",
        "earlier",
        "last",
        "this",
        "week",
        "weeks",
        "day",
        "days",
        "hour",
        "hours",
        "minute",
        "minutes",
        "min",
        "mins",
        "just",
        "now",
        "recently",
        "recent",
        "before",
        "after",
        "on",
        "past",
        "lately",
        "moment",
        "while",
        "month",
    ]
)
_N = r"(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|couple of|couple|few|several)"


@dataclass(frozen=True)
class TimeCue:
    """A time window [since, until) in unix seconds, its slack in seconds, and the phrase it came from."""

    since: float
    until: float
    when: str
    slack: float

    def fit(self, t: float) -> float:
        """Return 1 inside the window, falling linearly to 0 at slack outside it."""
        if self.since <= t < self.until:
            return 1.0
        d = self.since - t if t < self.since else t - self.until
        return max(0.0, 1.0 - d / self.slack) if self.slack > 0 else 0.0


def _num(word: str) -> float:
    w = word.replace("couple of", "couple")
    return float(w) if w.isdigit() else float(NUMBERS.get(w, 1))


MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"


def _date(text: str, now: float) -> float | None:
    """Return local noon of a date the text names (2026-11-30, "Nov 30", "30 November"), in the past."""
    low = text.lower()
    m = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", low)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        m = re.search(rf"\b{_MONTH} (\d{{1,2}})(?:st|nd|rd|th)?\b", low) or re.search(
            rf"\b(\d{{1,2}})(?:st|nd|rd|th)? (?:of )?{_MONTH}", low
        )
        if not m:
            return None
        a, b = m.group(1), m.group(2)
        mon, d = (a, int(b)) if not a.isdigit() else (b, int(a))
        mo = MONTHS.index(mon[:3]) + 1
        y = time.localtime(now).tm_year
    try:
        t = time.mktime((y, mo, d, 12, 0, 0, 0, 0, -1))
    except (OverflowError, ValueError):
        return None
    if not 1 <= d <= 31 or not 1 <= mo <= 12:
        return None
    if t > now + DAY and not re.search(r"\d{4}-", low):
        t = time.mktime((y - 1, mo, d, 12, 0, 0, 0, 0, -1))  # "Dec 30" said in January: last year
    return t


def parse_time(text: str, now: float | None = None) -> TimeCue | None:
    """Return the time window a phrase names, or None if it names none."""
    now = time.time() if now is None else now
    s = " " + re.sub(r"[^\w\s]", " ", text.lower()) + " "
    s = re.sub(r"\s+", " ", s)
    today = day_start(now)

    def day(offset: int) -> float:
        # local midnight `offset` days back, robust to DST (mktime normalises)
        return day_start(today - offset * DAY + HOUR * 12)

    m = re.search(rf" {_N} (min|mins|minute|minutes) ago ", s)
    if m:
        n = _num(m.group(1)) * 60
        return TimeCue(now - n - 15 * 60, now - max(0.0, n - 15 * 60) + 60, m.group(0).strip(), 30 * 60)
    if re.search(r" (just now|a moment ago|moments ago|a minute ago|a while ago) ", s):
        return TimeCue(now - 45 * 60, now + 60, "just now", HOUR)
    m = re.search(rf" {_N} (hour|hours) ago ", s)
    if m:
        word = m.group(1)
        n = _num(word)
        if word in ("few", "several"):
            lo, hi = 1.5, 7.0
        elif word.startswith("couple"):
            lo, hi = 1.0, 3.5
        else:
            lo, hi = max(0.0, n - max(1.0, n * 0.35)), n + max(1.0, n * 0.35)
        return TimeCue(now - hi * HOUR, now - lo * HOUR, m.group(0).strip(), max(1.5 * HOUR, n * 0.3 * HOUR))

    # which day: "yesterday", "N days ago", "on Monday", a date, "today" (default with a part of day)
    offset: int | None = None
    when = ""
    date = _date(text, now)
    if date is not None:
        offset = max(0, round((today - day_start(date)) / DAY))
        when = time.strftime("on %Y-%m-%d", time.localtime(date))
    m = None if date is not None else re.search(rf" {_N} (day|days) ago ", s)
    if m and m.group(1) not in ("few", "several", "couple", "couple of"):
        offset, when = int(_num(m.group(1))), m.group(0).strip()
    elif m:  # "a few days ago": a span, not a day
        lo = 2 if m.group(1) != "several" else 3
        return TimeCue(day(5 if m.group(1) != "several" else 7), day(lo - 1), m.group(0).strip(), DAY)
    elif " day before yesterday " in s:
        offset, when = 2, "the day before yesterday"
    elif " yesterday " in s or " last night " in s:
        offset, when = 1, "yesterday"
    else:
        for i, name in enumerate(WEEKDAYS):
            if f" {name} " in s:
                back = (time.localtime(now).tm_wday - i) % 7
                if back == 0 and re.search(rf" (last|previous) {name} ", s):
                    back = 7  # "last Friday", said on a Friday
                offset, when = back, f"on {name.capitalize()}"
                break
    if offset is None and re.search(r" (weekend|saturday and sunday) ", s):
        wday = time.localtime(now).tm_wday  # Monday 0
        back = (wday - 5) % 7  # days since the latest Saturday
        if back <= 1 and re.search(r" (last|previous) weekend ", s):
            back += 7
        sat = day(back)
        return TimeCue(
            sat, min(day(back - 2) if back >= 2 else now + 60, now + 60), "at the weekend", 6 * HOUR
        )
    if offset is None and re.search(r" (last|past|previous) week ", s):
        return TimeCue(today - 9 * DAY, today - 3 * DAY, "last week", 2 * DAY)
    if offset is None and re.search(r" (this week|past few days|last few days|lately|recently) ", s):
        return TimeCue(now - 7 * DAY, now + 60, "in the last week", DAY)
    if offset is None and re.search(r" (last|past|previous) month ", s):
        return TimeCue(now - 45 * DAY, now - 5 * DAY, "last month", 7 * DAY)

    # which part of the day
    part: tuple[float, float] | None = None
    pword = ""
    m = re.search(r" (?:at|around|about) (\d{1,2})(?:[ :h](\d{2}))? ?(am|pm|h|o clock)? ", s)
    if m and (m.group(3) or m.group(2) or " at " in m.group(0)):
        hour: float = int(m.group(1)) % 24 + (12 if m.group(3) == "pm" and int(m.group(1)) < 12 else 0)
        hour += int(m.group(2) or 0) / 60
        if hour < 24:
            part, pword = (hour - 1.0, hour + 1.0), m.group(0).strip()
    if part is not None:
        pass
    elif " last night " in s:
        part, pword = (18.0, 28.0), "night"
    elif re.search(r" before lunch ", s):
        part, pword = (7.0, 12.5), "before lunch"
    elif re.search(r" after lunch ", s):
        part, pword = (13.0, 18.0), "after lunch"
    else:
        for word, span in PARTS.items():
            if f" {word} " in s:
                part, pword = span, word
                break
    if part is not None:
        base = day(offset or 0)
        since, until = base + part[0] * HOUR, base + part[1] * HOUR
        day_word = when or (
            "this" if f" this {pword} " in s else "today" if pword not in ("tonight",) else ""
        )
        phrase = " ".join(x for x in (day_word, pword) if x)
        return TimeCue(since, min(until, now + 60) if offset in (None, 0) else until, phrase, 1.5 * HOUR)
    if offset is not None:
        base = day(offset)
        return TimeCue(base, day(offset - 1) if offset > 0 else now + 60, when, 3 * HOUR)
    if re.search(r" (today|earlier|earlier today) ", s):
        return TimeCue(today, now + 60, "today", 3 * HOUR)
    return None


__all__ = ["TimeCue", "WORDS", "parse_time"]
