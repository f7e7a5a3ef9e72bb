"""The doctor report renders the facts, every candidate and its reasons."""

from __future__ import annotations

import json
from dataclasses import replace

from rich.console import Console

from runtime.doctor import doctor_json, doctor_tables, render
from runtime.planner import plan_all
from runtime.probe import Battery, probe
from tests.runtime.test_planner import X_ELITE


def _text(renderable: object) -> str:
    console = Console(record=True, width=120, color_system=None)
    console.print(renderable)
    return str(console.export_text())


def test_tables_show_facts_plans_and_reasons() -> None:
    facts = X_ELITE
    out = _text(render(facts, plan_all(facts)))
    for expected in (
        "Machine",
        "Snapdragon X Elite",
        "windows / arm64",
        "32.0 GiB",
        "90%, plugged in",
        "QNNExecutionProvider",
        "htp_performance_mode=burst",
        "gguf",
        "onnx",
        "ctranslate2",
        "qnn",
        "fallback",
        "Hexagon NPU",
        "compute_type=int8",
    ):
        assert expected in out, expected


def test_battery_line_and_table_count() -> None:
    facts = replace(X_ELITE, battery=Battery(12.0, False))
    tables = doctor_tables(facts, plan_all(facts))
    assert len(tables) == 3
    out = _text(tables[0]) + _text(tables[2])
    assert "12%, on battery" in out and "power_saver" in out


def test_json_report_round_trips_on_this_machine() -> None:
    facts = probe()
    report = doctor_json(facts, plan_all(facts))
    again = json.loads(json.dumps(report))
    assert again["facts"]["os"] == facts.os
    assert set(again["plans"]) == {"gguf", "onnx", "ctranslate2"}
    for family in again["plans"].values():
        assert family["candidates"][-1]["device"] == "cpu"
        assert family["primary"] == family["candidates"][0]["device"]
    assert _text(render(facts, plan_all(facts)))
