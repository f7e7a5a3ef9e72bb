"""What memory tests import: a realistic day of events (seed_day) and DAY in seconds."""

from __future__ import annotations

import time

from skills.memory import Caller, MemorySkill
from skills.memory.text import day_start

DAY = 86400.0


def seed_day(mem: MemorySkill, now: float | None = None) -> dict[str, int]:
    """Push a realistic day across a mail app, a browser, a file manager, contacts and a calendar."""
    now = time.time() if now is None else now
    ids = {}
    mail, browser, files = Caller("mail"), Caller("firefox"), Caller("files")
    ids["contract_mail"] = mem.push(
        mail,
        {
            "kind": "message",
            "title": "Signed contract for the Lisbon office",
            "body": "Hi! Attached is the signed lease contract. Let me know if the dates work. Ana",
            "entities": {"people": ["Ana Lima"], "files": ["lease-contract.pdf"], "places": ["Lisbon"]},
            "created": now - 3 * 3600,
        },
    ).id
    ids["lunch_mail"] = mem.push(
        mail,
        {
            "kind": "message",
            "title": "Lunch on Friday?",
            "body": "Are you free for lunch on Friday near the station?",
            "entities": {"people": ["Bruno Costa"]},
            "created": now - 2 * DAY,
        },
    ).id
    ids["pdf_yesterday"] = mem.push(
        browser,
        {
            "kind": "url",
            "title": "Quarterly earnings report Q3.pdf",
            "uri": "https://example.com/reports/q3-earnings.pdf",
            "created": day_start(now) - DAY / 2,
        },
    ).id  # yesterday at noon, whatever the time now
    ids["recipe"] = mem.push(
        browser,
        {
            "kind": "url",
            "title": "Slow cooker chili recipe",
            "uri": "https://recipes.example/chili",
            "body": "Beans, tomatoes, cumin and a slow cooker.",
            "created": now - 5 * 3600,
        },
    ).id
    ids["budget_file"] = mem.push(
        files,
        {
            "kind": "file_opened",
            "title": "budget-2025.xlsx",
            "uri": "file:///home/me/budget-2025.xlsx",
            "created": now - 600,
        },
    ).id
    ids["old_file"] = mem.push(
        files,
        {
            "kind": "file_opened",
            "title": "thesis-draft.docx",
            "uri": "file:///home/me/thesis-draft.docx",
            "created": now - 4 * DAY,
        },
    ).id
    ids["contact"] = mem.push(
        Caller("contacts"),
        {
            "kind": "contact",
            "title": "Carla Mendes",
            "body": "Dentist, +351 912 345 678",
            "entities": {"people": ["Carla Mendes"]},
            "created": now - 6 * DAY,
        },
    ).id
    ids["meeting"] = mem.push(
        Caller("calendar"),
        {
            "kind": "calendar",
            "title": "Contract review with legal",
            "body": "Go over the lease terms",
            "created": now - 1800,
        },
    ).id
    return ids
