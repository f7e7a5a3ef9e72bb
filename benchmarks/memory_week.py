"""A generated week of multi-app activity with routine noise, and reference queries with known
answers, for benchmarks/bench_memory_resolve.py. Everything comes from a seeded generator: other
seeds give other names, documents, topics and times (the held-out check uses weeks the project
never saw), so nothing here is tuned to one week.

Each event carries a private key (`_key`) naming its role; a query's answer is the set of event keys
(or, for "who ..." questions, the person) that count as correct.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

DAY = 86400.0
HOUR = 3600.0
FEMALE = [
    "Ana Lima",
    "Carla Mendes",
    "Elena Petrova",
    "Grace Kim",
    "Julia Rossi",
    "Sofia Nunes",
    "Priya Shah",
    "Laura Weber",
    "Hannah Berg",
    "Marta Silva",
]
MALE = [
    "Bruno Costa",
    "David Okafor",
    "Farid Haddad",
    "Hugo Martin",
    "Lucas Brandt",
    "Omar Said",
    "Peter Novak",
    "Tomas Reyes",
    "Ivan Petrov",
    "Rahul Mehta",
]
PROJECTS = [
    "budget",
    "roadmap",
    "forecast",
    "payroll",
    "inventory",
    "pricing",
    "hiring plan",
    "launch plan",
    "onboarding guide",
    "security review",
    "marketing plan",
    "travel policy",
    "sales report",
]
TOPICS = [
    ("sourdough", "How to keep a sourdough starter alive"),
    ("rust", "Async Rust in practice"),
    ("kubernetes", "Kubernetes networking explained"),
    ("espresso", "Dialing in espresso at home"),
    ("lisbon", "A weekend in Lisbon: where to eat"),
    ("postgres", "Postgres index types compared"),
    ("marathon", "A 16-week marathon training plan"),
    ("bonsai", "Bonsai care for beginners"),
    ("typescript", "TypeScript generics by example"),
    ("solar", "Are home solar panels worth it"),
]
NEWS = [
    "Markets rally as rates hold",
    "Storm warning for the weekend",
    "New phone reviewed",
    "Local elections",
    "Transfer news roundup",
    "Ten tips for better sleep",
    "Weather: sunny spells",
    "Tech layoffs continue",
]
CHITCHAT = [
    "Morning!",
    "haha nice",
    "Lunch?",
    "brb",
    "Thanks!",
    "See you at standup",
    "Coffee later?",
    "On my way",
    "Sounds good",
    "Happy Friday",
]
SHELL = [
    "ls",
    "cd ~/src",
    "git status",
    "git pull",
    "make test",
    "htop",
    "vim notes.md",
    "python -m pytest -q",
    "docker ps",
    "git diff",
    "npm run build",
    "cargo build",
]
WINDOWS = [
    "Inbox - Thunderbird",
    "Slack | general",
    "Terminal",
    "Mozilla Firefox",
    "Files",
    "Calendar",
    "Spotify",
    "Settings",
]
SHEET_EXT = ["xlsx", "ods"]


@dataclass(frozen=True)
class Query:
    """A reference phrase and what counts as its answer: event keys, or a person for "who" questions."""

    text: str
    keys: tuple[str, ...] = ()
    person: str = ""
    kind: str = ""  # the capability it checks (time, title words, person answer, pronoun, kind)


@dataclass(frozen=True)
class Week:
    events: list[dict[str, Any]]  # each with "_app" and "_key" besides the event fields
    queries: list[Query]
    now: float


def _slug(s: str) -> str:
    return s.lower().replace(" ", "-")


class _Gen:
    def __init__(self, seed: int, now: float) -> None:
        self.r = random.Random(seed)
        self.now = now
        self.events: list[dict[str, Any]] = []
        lt = time.localtime(now)
        self.today = time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 0, 0, 0, 0, 0, -1))

    def at(self, days_ago: int, hour: float) -> float:
        """Local time `hour` on the day days_ago back, never later than a minute ago."""
        t = time.mktime(time.localtime(self.today - days_ago * DAY + 12 * HOUR)[:3] + (0, 0, 0, 0, 0, -1))
        return min(t + hour * HOUR, self.now - 60)

    def add(self, app: str, key: str, **ev: Any) -> dict[str, Any]:
        e = {"_app": app, "_key": key, **ev}
        self.events.append(e)
        return e

    def file(self, key: str, name: str, created: float, app: str = "libreoffice-calc") -> None:
        self.add(
            app,
            key,
            kind="file_opened",
            title=name,
            uri=f"file:///home/me/Documents/{name}",
            body=f"opened in {app}",
            entities={"files": [f"/home/me/Documents/{name}"]},
            created=created,
        )

    def mail(
        self,
        key: str,
        who: str,
        title: str,
        body: str,
        created: float,
        files: tuple[str, ...] = (),
        app: str = "mail",
    ) -> None:
        self.add(
            app,
            key,
            kind="message",
            title=title,
            body=body,
            created=created,
            entities={"people": [who], "files": list(files)},
        )

    def noise(self, days: int, per_day: int) -> None:
        r = self.r
        people = FEMALE + MALE
        for d in range(days):
            for i in range(per_day):
                h = r.uniform(7.5, 22.0)
                t = self.at(d, h)
                if t >= self.now - 60:
                    # today's hours still to come: earlier instead, never piled up at "a minute ago"
                    # (identical times made "that file" or "her" a tie, so the answer hung on the hour)
                    t = self.now - r.uniform(120.0, 6 * HOUR)
                pick = r.random()
                if pick < 0.25:
                    self.add(
                        "connector:window",
                        "noise",
                        kind="note",
                        title=r.choice(WINDOWS),
                        body="focused window",
                        created=t,
                    )
                elif pick < 0.42:
                    self.add(
                        "shell",
                        "noise",
                        kind="x-shell",
                        title=r.choice(SHELL),
                        body=f"ran in bash in /home/me/src, exit status {r.choice([0, 0, 0, 1])}",
                        created=t,
                    )
                elif pick < 0.62:
                    title = r.choice(NEWS)
                    self.add(
                        "connector:browser",
                        "noise",
                        kind="url",
                        title=title,
                        uri=f"https://news.example/{_slug(title)}",
                        body="visited in Firefox",
                        created=t,
                    )
                elif pick < 0.77:
                    who = r.choice(people)
                    self.add(
                        r.choice(["slack", "signal"]),
                        "noise",
                        kind="message",
                        title=r.choice(CHITCHAT),
                        body=r.choice(CHITCHAT),
                        entities={"people": [who]},
                        created=t,
                    )
                elif pick < 0.84:
                    self.add(
                        "mail",
                        "noise",
                        kind="message",
                        title=f"Newsletter: {r.choice(NEWS)}",
                        body="Unsubscribe at any time.",
                        entities={"people": ["News Desk"]},
                        created=t,
                    )
                elif pick < 0.92:
                    name = r.choice(
                        [
                            "notes.md",
                            "todo.txt",
                            "README.md",
                            "photo-%d.jpg" % r.randint(1, 300),
                            "main.py",
                            "config.yaml",
                        ]
                    )
                    self.file("noise", name, t, app=r.choice(["gedit", "code", "eog"]))
                else:
                    self.add(
                        "connector:git",
                        "noise",
                        kind="x-git",
                        title=f"commit in webapp: {r.choice(['Fix typo', 'Bump deps', 'Refactor', 'Tidy tests'])}",
                        body="commit by Me",
                        created=t,
                    )


def week(seed: int = 1, now: float | None = None, noise_per_day: int = 215) -> Week:
    """Return a generated week (at least 1,500 events across at least 7 apps) and its queries."""
    now = time.time() if now is None else now
    g = _Gen(seed, now)
    r = g.r
    fem, male = r.sample(FEMALE, 6), r.sample(MALE, 6)
    projects = r.sample(PROJECTS, 8)
    topics = r.sample(TOPICS, 4)
    q: list[Query] = []
    hour_now = (now - g.today) / HOUR

    # -- distinguishing title words: draft vs final, versions -----------------------------------
    p0 = _slug(projects[0])
    ext = r.choice(SHEET_EXT)
    g.file("draft", f"{p0}-2026-draft.{ext}", g.at(3, 10.2))
    g.file("draft", f"{p0}-2026-draft.{ext}", g.at(5, 15.0))
    g.file("final", f"{p0}-2026-final.{ext}", g.at(1, 11.0))
    g.file("final", f"{p0}-2026-final.{ext}", g.at(0, max(0.5, hour_now - 5.5)))
    q += [
        Query(f"the draft {projects[0]} spreadsheet", ("draft",), kind="title words"),
        Query(f"the final version of the {projects[0]} sheet", ("final",), kind="title words"),
        Query(f"{projects[0]} draft", ("draft",), kind="title words"),
    ]
    p1 = _slug(projects[1])
    for v, d in ((3, 5), (4, 2), (5, 1)):
        g.file(f"v{v}", f"{p1}-v{v}.docx", g.at(d, 14.0 + v / 3), app="libreoffice-writer")
    q += [
        Query(f"v4 of the {projects[1]}", ("v4",), kind="title words"),
        Query(f"the {projects[1]} v3 document", ("v3",), kind="title words"),
    ]

    # -- time words --------------------------------------------------------------------------------
    p2 = _slug(projects[2])
    few = max(0.2, hour_now - 3.5)
    g.file("few_hours", f"{p2}-q4.{ext}", g.at(0, few))
    g.file("sheet_yday", f"{_slug(projects[3])}.{ext}", g.at(1, 16.0))
    g.file("sheet_2d", f"{_slug(projects[4])}.xlsx", g.at(2, 9.5))
    g.file("sheet_recent", f"team-roster.{ext}", now - 15 * 60)
    if hour_now >= 4.5:
        q.append(Query("the spreadsheet I had open a few hours ago", ("few_hours",), kind="time"))
    q += [
        Query("the spreadsheet from yesterday", ("sheet_yday",), kind="time"),
        Query("the spreadsheet I opened two days ago", ("sheet_2d",), kind="time"),
    ]
    contract = f"{_slug(projects[5])}-contract.pdf"
    g.mail(
        "pdf_mail_2d",
        fem[0],
        f"Signed {projects[5]} contract",
        "Attached, signed. Let me know.",
        g.at(2, 11.3),
        files=(contract,),
    )
    g.mail(
        "pdf_mail_1d",
        male[0],
        "Slides from the offsite",
        "As promised.",
        g.at(1, 15.2),
        files=("offsite.pdf",),
    )
    g.mail(
        "pdf_mail_4d",
        fem[1],
        "Receipt",
        "Your receipt is attached.",
        g.at(4, 10.0),
        files=("receipt-88.pdf",),
    )
    g.file("pdf_open_2d", "manual.pdf", g.at(2, 16.0), app="evince")
    q += [
        Query("the PDF from the mail two days ago", ("pdf_mail_2d",), kind="time"),
        Query("the pdf someone emailed me yesterday", ("pdf_mail_1d",), kind="time"),
        Query("the PDF I read in the viewer two days ago", ("pdf_open_2d",), kind="time"),
    ]
    for i, (word, title) in enumerate(topics):
        d = (1, 3, 0, 4)[i]
        hour = (20.0, 10.5, min(10.5, hour_now - 0.5), 15.0)[i]
        g.add(
            "connector:browser",
            f"page_{i}",
            kind="url",
            title=title,
            uri=f"https://blog.example/{word}",
            body="visited in Firefox",
            created=g.at(d, hour),
        )
        g.add(
            "connector:browser",
            f"page_{i}_old",
            kind="url",
            title=f"{title} (part 2)",
            uri=f"https://blog.example/{word}-2",
            body="visited in Firefox",
            created=g.at(d + 2, 12.0),
        )
    q += [
        Query(f"the {topics[0][0]} page I read yesterday", ("page_0",), kind="time"),
        Query(f"that article about {topics[1][0]} from three days ago", ("page_1",), kind="time"),
    ]
    if hour_now >= 11:
        q.append(Query(f"the {topics[2][0]} page from this morning", ("page_2",), kind="time"))
        q.append(Query(f"the {topics[2][0]} page I was reading before lunch", ("page_2",), kind="time"))
    q.append(Query(f"the {topics[3][0]} article last week", ("page_3", "page_3_old"), kind="time"))
    for d in range(7):  # a daily standup: only the day tells them apart
        g.add(
            "connector:calendar",
            f"standup_{d}",
            kind="calendar",
            title="Team standup",
            body="meeting at 09:30 with the team",
            entities={"people": [fem[2], male[1], male[2]]},
            created=g.at(d, 9.5),
        )
    q += [
        Query("yesterday's standup", ("standup_1",), kind="time"),
        Query("the standup two days ago", ("standup_2",), kind="time"),
    ]

    # -- person answers ----------------------------------------------------------------------------
    p6 = projects[6]
    g.mail(
        "ask_plan",
        male[3],
        f"Re: {p6}",
        f"Could you send me the {p6} before Friday?",
        g.at(2, 10.0),
        app="slack",
    )
    g.file("plan_file", f"{_slug(p6)}.docx", g.at(1, 13.0), app="libreoffice-writer")
    g.add(
        "connector:calendar",
        "plan_meeting",
        kind="calendar",
        title=f"{p6.capitalize()} review",
        body=f"meeting with {fem[3]}, {male[4]}",
        entities={"people": [fem[3], male[4]]},
        created=g.at(0, 8.0),
    )
    q += [
        Query(f"who asked for the {p6}", person=male[3], kind="person answer"),
        Query(f"who wanted the {p6}?", person=male[3], kind="person answer"),
    ]
    g.mail(
        "invoice",
        fem[4],
        "Invoice 1042",
        "Please find invoice 1042 attached.",
        g.at(3, 9.0),
        files=("invoice-1042.pdf",),
    )
    g.file("invoice_open", "invoice-1042.pdf", g.at(3, 9.3), app="evince")
    q += [
        Query("who sent the invoice", person=fem[4], kind="person answer"),
        Query("who sent me invoice 1042?", person=fem[4], kind="person answer"),
    ]
    g.mail(
        "wants_slides",
        male[5],
        "Demo on Thursday",
        "I want the slides for the demo by Wednesday.",
        g.at(1, 17.0),
        app="slack",
    )
    g.file("slides_file", "demo-slides.pptx", g.at(0, max(0.3, hour_now - 1.0)), app="libreoffice-impress")
    q += [
        Query("who wants the slides", person=male[5], kind="person answer"),
        Query("the slides for the demo", ("slides_file",), kind="kind"),
    ]
    g.mail(
        "shared_doc",
        fem[5],
        f"{projects[7].capitalize()}",
        f"Sharing the {projects[7]} with you.",
        g.at(4, 11.0),
        files=(f"{_slug(projects[7])}.pdf",),
    )
    q += [Query(f"who shared the {projects[7]}", person=fem[5], kind="person answer")]

    # -- people, meetings, contacts ------------------------------------------------------------------
    for i, who in enumerate([*fem[:4], *male[:4]]):
        phone = f"+351 91{r.randint(0, 9)} {r.randint(100, 999)} {r.randint(100, 999)}"
        g.add(
            "connector:contacts",
            f"contact_{i}",
            kind="contact",
            title=who,
            body=f"phone number (cell): {phone}\nemail: {_slug(who)}@example.org",
            entities={"people": [who]},
            created=g.at(6, 8.0),
        )
    g.add(
        "connector:calendar",
        "meet_fem1",
        kind="calendar",
        title="Quarterly planning",
        body=f"meeting with {fem[1]} in Room 2",
        entities={"people": [fem[1]], "places": ["Room 2"]},
        created=g.at(2, 14.0),
    )
    g.add(
        "connector:calendar",
        "meet_male2",
        kind="calendar",
        title="Architecture sync",
        body=f"meeting with {male[2]}",
        entities={"people": [male[2]]},
        created=g.at(1, 11.0),
    )
    g.mail("msg_fem1", fem[1], "Question about planning", "Quick question before our meeting.", g.at(2, 12.0))
    first = lambda n: n.split()[0]  # noqa: E731
    q += [
        Query(f"the meeting with {first(fem[1])}", ("meet_fem1",), kind="kind"),
        Query(f"my meeting with {male[2]}", ("meet_male2",), kind="kind"),
        Query(f"{first(fem[0])}'s phone number", ("contact_0",), kind="kind"),
        Query(f"{first(male[1])}'s number", ("contact_5",), kind="kind"),
        Query(f"email address of {male[3]}", ("contact_7",), kind="kind"),
        Query(f"{first(fem[1])}'s message about planning", ("msg_fem1",), kind="kind"),
    ]

    q += [
        Query(f"the email with the signed {projects[5]} contract", ("pdf_mail_2d",), kind="kind"),
        Query("the receipt pdf", ("pdf_mail_4d",), kind="kind"),
        Query("the invoice", ("invoice", "invoice_open"), kind="kind"),
        Query(f"the {p6} document", ("plan_file",), kind="kind"),
    ]

    # -- git and shell -----------------------------------------------------------------------------
    g.add(
        "connector:git",
        "commit_login",
        kind="x-git",
        title="commit in webapp: Add the login form",
        body="commit by Me in /home/me/src/webapp",
        entities={"people": ["Me"]},
        created=g.at(1, 15.0),
    )
    g.add(
        "connector:git",
        "branch_switch",
        kind="x-git",
        title="switched to branch payments in webapp (from main)",
        body="checkout by Me",
        created=g.at(1, 16.0),
    )
    g.add(
        "shell",
        "deploy_cmd",
        kind="x-shell",
        title="kubectl apply -f deploy/production.yaml",
        body="ran in bash in /home/me/src/webapp, exit status 0",
        created=g.at(2, 17.0),
    )
    q += [
        Query("the commit that added the login form", ("commit_login",), kind="kind"),
        Query("the branch I switched to yesterday", ("branch_switch",), kind="time"),
        Query("the command I ran to deploy to production", ("deploy_cmd",), kind="kind"),
    ]

    g.noise(7, noise_per_day)

    # -- deixis and pronouns: answers are whatever the data holds last ---------------------------
    ev = sorted(g.events, key=lambda e: e["created"])
    last_file = [e for e in ev if e["kind"] == "file_opened"][-1]
    last_file["_key"] = last_file["_key"] if last_file["_key"] != "noise" else "last_file"
    last_page = [e for e in ev if e["kind"] == "url"][-1]
    last_page["_key"] = last_page["_key"] if last_page["_key"] != "noise" else "last_page"
    last_pdf = [
        e for e in ev if ".pdf" in str(e.get("uri", "")) + str(e.get("entities", {}).get("files", []))
    ][-1]
    q += [
        Query("that file", (last_file["_key"],), kind="deixis"),
        Query("that page", (last_page["_key"],), kind="deixis"),
        Query("the PDF", (last_pdf["_key"],), kind="deixis"),
    ]

    def last_person(names: list[str]) -> str:
        # the last one person you dealt with: a sender, a contact, a 1:1 (a meeting of several is
        # no answer to "her": which of its people would she be?)
        for e in reversed(ev):
            people = e.get("entities", {}).get("people", [])
            if len(people) == 1 and people[0] in names and e["kind"] in ("message", "contact", "calendar"):
                return str(people[0])
        return ""

    q += [
        Query("her", person=last_person(FEMALE), kind="pronoun"),
        Query("him", person=last_person(MALE), kind="pronoun"),
    ]
    return Week(g.events, q, now)


__all__ = ["Query", "Week", "week"]
