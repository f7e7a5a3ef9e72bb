"""Question sets for the assistant: everyday questions with checkable answers, and a generated week
of multi-app activity (messages, calendar, files, pages, notes) with grounded questions whose
answers sit among distractors: older requests and chit-chat from the same people, other days'
files and pages, and other people's messages.

Used by benchmarks/bench_assistant.py and by the real-model chat tests (a smaller week).
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

DAY = 86400.0


@dataclass(frozen=True)
class Question:
    """A question and the patterns any correct answer matches (one is enough)."""

    text: str
    answers: tuple[str, ...]  # regular expressions, matched case-insensitively
    key: str = ""  # grounded: the key of the event that holds the answer

    def correct(self, answer: str) -> bool:
        """Whether answer states the expected thing."""
        return any(re.search(p, answer, re.I) for p in self.answers)


PLAIN: tuple[Question, ...] = tuple(
    Question(q, tuple(a.split("|")))
    for q, a in (
        ("How many legs does a spider have?", r"\beight\b|\b8\b"),
        ("What is the capital of France?", "paris"),
        ("How do you say 'thank you' in Spanish?", "gracias"),
        ("Which animal is called the king of the jungle?", r"\blions?\b"),
        ("How many days are there in a week?", r"\bseven\b|\b7\b"),
        ("What color do you get when you mix blue and yellow?", "green"),
        ("At what temperature in Celsius does water boil at sea level?", r"\b100\b"),
        ("How many minutes are in an hour?", r"\b60\b|sixty"),
        ("Which planet is known as the Red Planet?", "mars"),
        ("What is the largest ocean on Earth?", "pacific"),
        ("Who wrote Romeo and Juliet?", "shakespeare"),
        ("What is 12 times 12?", r"\b144\b"),
        ("What gas do plants take in from the air to make food?", r"carbon dioxide|co2|co₂"),
        ("How many continents are there?", r"\bseven\b|\b7\b"),
        ("What is the chemical symbol for gold?", r"\bau\b"),
        ("What is the tallest animal in the world?", "giraffe"),
        ("What do bees make?", "honey"),
        ("What is the largest planet in our solar system?", "jupiter"),
        ("In which country are the pyramids of Giza?", "egypt"),
        ("What language is mainly spoken in Brazil?", "portuguese"),
        ("What is the square root of 81?", r"\b9\b|\bnine\b"),
        ("How many sides does a triangle have?", r"\bthree\b|\b3\b"),
        ("What is the capital of Japan?", "tokyo"),
        ("Which animal is known as man's best friend?", r"\bdogs?\b"),
        ("What currency is used in the United Kingdom?", r"pound|sterling|£"),
        ("How many players does a soccer team have on the field?", r"\beleven\b|\b11\b"),
        ("Which musical instrument has 88 keys?", "piano"),
        ("What do you call a baby cat?", "kitten"),
        ("How many wheels does a bicycle have?", r"\btwo\b|\b2\b"),
        ("How do you say 'good morning' in French?", "bonjour"),
        ("What is the fastest land animal?", "cheetah"),
        ("Which season comes after winter?", "spring"),
        ("How many hours are in a day?", r"\b24\b|twenty-four"),
        ("What is the freezing point of water in Fahrenheit?", r"\b32\b"),
        ("What is the opposite of 'hot'?", "cold"),
    )
)

PEOPLE = (
    "Ana Lima",
    "Bruno Costa",
    "Carla Mendes",
    "David Okafor",
    "Elena Petrova",
    "Farid Haddad",
    "Grace Kim",
    "Hugo Silva",
)
CHITCHAT = (
    "Morning! How was your weekend?",
    "Thanks, that helps a lot.",
    "Haha, nice one.",
    "See you at lunch.",
    "Coffee later?",
    "Great work on the demo yesterday.",
    "I'm running five minutes late.",
    "Happy Friday everyone!",
    "Did you watch the match last night?",
    "Sounds good to me.",
    "Ok, talk soon.",
    "Lovely weather today.",
)
PAGES = (
    "Weather forecast for the week",
    "Python dataclasses documentation",
    "Recipe: lentil soup",
    "News: city council approves new bike lanes",
    "How to fix a squeaky door",
    "Hotel in Porto, two nights",
    "Review: noise cancelling headphones",
    "SQLite FTS5 documentation",
)
FILES = (
    "meeting-notes.docx",
    "budget-2025.xlsx",
    "holiday-photos.zip",
    "team-roster.csv",
    "old-invoice-0412.docx",
    "draft-proposal.docx",
    "vendor-contract-2023.odt",
)
NOTES = ("Call the plumber", "Ideas for the blog post", "Books to read", "Gym schedule", "Gift ideas")
APPS_MSG = ("mail", "slack", "signal")


@dataclass
class Week:
    """A generated week: events to push (dicts for MemorySkill.push_batch) and the questions."""

    now: float
    events: list[dict[str, Any]] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    keys: dict[str, int] = field(default_factory=dict)  # question key -> index into events


def _msg(app: str, person: str, title: str, body: str, created: float) -> dict[str, Any]:
    return {
        "app": app,
        "kind": "message",
        "title": title,
        "body": body,
        "entities": {"people": [person]},
        "created": created,
    }


def week(n_events: int = 1500, seed: int = 7, now: float | None = None) -> Week:
    """Return a week of activity ending now: n_events in all, the answers among distractors."""
    now = time.time() if now is None else now
    rng = random.Random(seed)
    w = Week(now)
    lt = time.localtime(now)
    midnight = now - (lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec)

    def at(days_ago: int, hour: float) -> float:
        return midnight - days_ago * DAY + hour * 3600

    def target(key: str, ev: dict[str, Any], q: Question) -> None:
        w.keys[key] = len(w.events)
        w.events.append(ev)
        w.questions.append(q)

    # the answers, each with its nearest distractors
    w.events.append(_msg("mail", "Ana Lima", "Q3 budget", "Can you review the Q3 budget draft?", at(4, 10)))
    target(
        "ana",
        _msg(
            "mail",
            "Ana Lima",
            "Lisbon office lease",
            "Could you send me the signed lease contract for the Lisbon office by Friday?",
            now - 50 * 60,
        ),
        Question("What did Ana ask me for?", (r"lease|contract",), "ana"),
    )
    w.events.append(_msg("slack", "Ana Lima", "Lunch", "Haha, see you at lunch then.", now - 30 * 60))
    w.events.append(_msg("slack", "Bruno Costa", "Parking", "Can you lend me your parking card?", at(5, 9)))
    target(
        "bruno",
        _msg(
            "slack",
            "Bruno Costa",
            "Design review",
            "Please book a meeting room for Thursday's design review.",
            at(1, 15.5),
        ),
        Question("What did Bruno ask me for?", (r"room",), "bruno"),
    )
    target(
        "dentist",
        {
            "app": "calendar",
            "kind": "calendar",
            "title": "Dentist appointment with Dr. Sousa",
            "body": "Thursday at 9:30, Rua Augusta 120",
            "created": at(3, 12),
        },
        Question("When is my dentist appointment?", (r"9[:.]30|nine.thirty",), "dentist"),
    )
    w.events.append(
        {
            "app": "calendar",
            "kind": "calendar",
            "title": "Team standup",
            "body": "Daily at 9:00",
            "created": at(6, 8),
        }
    )
    for d, f in ((3, "annual-report-2023.pdf"), (2, "travel-insurance.pdf")):
        w.events.append(
            {
                "app": "files",
                "kind": "file_opened",
                "title": f,
                "uri": f"file:///home/me/Documents/{f}",
                "created": at(d, 11),
            }
        )
    target(
        "pdf",
        {
            "app": "files",
            "kind": "file_opened",
            "title": "quarterly-report-final.pdf",
            "uri": "file:///home/me/Documents/quarterly-report-final.pdf",
            "created": at(1, 16),
        },
        Question("Which PDF did I open yesterday?", (r"quarterly",), "pdf"),
    )
    w.events.append(
        {
            "app": "browser",
            "kind": "url",
            "title": "Flight Lisbon to Madrid",
            "uri": "https://flights.example/lis-mad",
            "created": at(4, 20),
        }
    )
    target(
        "flight",
        {
            "app": "browser",
            "kind": "url",
            "title": "Flight Lisbon to Berlin, 14 March",
            "uri": "https://flights.example/lis-ber",
            "created": at(2, 21),
        },
        Question("Which flight did I look at two days ago?", (r"berlin",), "flight"),
    )
    w.events.append(_msg("signal", "Carla Mendes", "Demo", "The demo is at 11am on Tuesday.", at(3, 9)))
    target(
        "carla",
        _msg("signal", "Carla Mendes", "Demo moved", "The client moved the demo to 3pm.", now - 2 * 3600),
        Question("What is the latest message from Carla?", (r"3\s?pm|15[:.]00|three", r"moved"), "carla"),
    )
    target(
        "grace",
        {
            **_msg(
                "mail",
                "Grace Kim",
                "Onboarding slides",
                "Here are the onboarding slides for Monday.",
                at(2, 10),
            ),
            "entities": {"people": ["Grace Kim"], "files": ["onboarding-slides.pptx"]},
        },
        Question("Who sent me the onboarding slides?", (r"grace",), "grace"),
    )
    target(
        "dinner",
        {
            "app": "calendar",
            "kind": "calendar",
            "title": "Team dinner",
            "body": "Friday 8pm at Casa Lisboa, Rua do Ouro 15",
            "created": at(2, 14),
        },
        Question("Where is the team dinner?", (r"casa lisboa",), "dinner"),
    )
    w.events.append(_msg("mail", "David Okafor", "Offsite", "Thanks for organising the offsite!", at(1, 9)))
    target(
        "david",
        _msg(
            "mail",
            "David Okafor",
            "Offsite photos",
            "Could you upload the offsite photos to the shared drive?",
            at(1, 8),
        ),
        Question("What did David ask me for?", (r"photo",), "david"),
    )
    target(
        "elena",
        _msg(
            "signal", "Elena Petrova", "Train", "The train to Porto leaves at 7:40 tomorrow.", now - 3 * 3600
        ),
        Question("What time does Elena's train leave?", (r"7[:.]40",), "elena"),
    )
    if lt.tm_hour >= 11:  # "this morning" only asks something once the morning is over
        target(
            "note",
            {
                "app": "notes",
                "kind": "note",
                "title": "Shopping",
                "body": "Buy oat milk and batteries",
                "created": at(0, 8.5),
            },
            Question("What did I note this morning?", (r"oat milk|batteries",), "note"),
        )
    # the distractors that fill the week
    # distractors stop four hours before now, so "the latest" of anything is one of the answers above
    start = now - 7 * DAY
    while len(w.events) < n_events:
        t = rng.uniform(start, now - 4 * 3600)
        r = rng.random()
        person = rng.choice(PEOPLE)
        if r < 0.45:
            w.events.append(_msg(rng.choice(APPS_MSG), person, rng.choice(CHITCHAT), rng.choice(CHITCHAT), t))
        elif r < 0.65:
            page = rng.choice(PAGES)
            slug = re.sub(r"\W+", "-", page.lower())
            w.events.append(
                {
                    "app": "browser",
                    "kind": "url",
                    "title": page,
                    "uri": f"https://ex.org/{slug}",
                    "created": t,
                }
            )
        elif r < 0.8:
            f = rng.choice(FILES)
            w.events.append(
                {
                    "app": "files",
                    "kind": "file_opened",
                    "title": f,
                    "uri": f"file:///home/me/{f}",
                    "created": t,
                }
            )
        elif r < 0.9:
            w.events.append(
                {
                    "app": "calendar",
                    "kind": "calendar",
                    "title": f"1:1 with {person.split()[0]}",
                    "body": "30 min",
                    "created": t,
                }
            )
        elif not at(0, 0) <= t < at(0, 12):  # the morning's only note is the one asked about
            w.events.append(
                {"app": "notes", "kind": "note", "title": rng.choice(NOTES), "body": "", "created": t}
            )
    return w


def push_week(memory: Any, w: Week) -> dict[str, int]:
    """Push a week into a MemorySkill as the apps that made it; return question key -> event id."""
    from skills.memory.model import Caller

    ids: list[int] = [0] * len(w.events)
    by_app: dict[str, list[int]] = {}
    for i, e in enumerate(w.events):
        by_app.setdefault(e["app"], []).append(i)
    for app, idx in by_app.items():
        batch = [{k: v for k, v in w.events[i].items() if k != "app"} for i in idx]
        for i, res in zip(idx, memory.push_batch(Caller(app), batch)):
            ids[i] = res.id
    return {k: ids[i] for k, i in w.keys.items()}


__all__ = ["PLAIN", "Question", "Week", "push_week", "week"]
