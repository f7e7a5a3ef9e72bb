"""/v1/memory/* on a real daemon over a real encrypted (SQLCipher) memory, with the fake embedder
so hybrid search runs without loading MiniLM."""

from __future__ import annotations

from typing import Iterator

import pytest

from assistant.client import Client, ClientOptions, DaemonError
from runtime.config import Config
from assistant.services import Services
from skills.memory import Caller, InvalidEvent, MemoryOptions, MemorySkill, StoreOptions
from skills.memory.embed import FakeEmbedder
from tests.daemon.helpers import Daemon, start_daemon, stop_daemon

CONTRACT = {
    "kind": "message",
    "title": "Signed contract for the Lisbon office",
    "body": "Attached is the signed lease contract. Ana",
    "entities": {"people": ["Ana Lima"]},
}


@pytest.fixture(scope="module")
def mem_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("mem")
    memory = MemorySkill(
        MemoryOptions(StoreOptions(root / "memory.db", key_source="file")), embedder=FakeEmbedder()
    )
    services = Services(Config.from_env({"ASSISTANT_HOME": str(root)}), overrides={"memory": memory})
    d = start_daemon(root, services)
    for name, scopes in (
        ("mail", "memory:read,memory:write"),
        ("browser", "memory:read,memory:write"),
        ("writer", "memory:write"),
    ):
        d.tokens[name] = d.registry.add(name, scopes)
    yield d
    stop_daemon(d)
    services.close()


def test_app_pushes_and_reads_its_own_events(mem_daemon: Daemon) -> None:
    with mem_daemon.tcp("mail") as c:
        r = c.post("/v1/memory/events", json={**CONTRACT, "idempotency_key": "msg-1"})
        assert r.status_code == 200, r.text
        first = r.json()
        assert first["id"] > 0 and first["duplicate"] is False
        # a retry with the same key (the first answer was lost) returns the same id, stored once
        again = c.post("/v1/memory/events", json={**CONTRACT, "idempotency_key": "msg-1"}).json()
        assert again == {**first, "duplicate": True}
        batch = c.post(
            "/v1/memory/events/batch",
            json={
                "events": [
                    {"kind": "note", "body": "Buy milk and bread", "idempotency_key": "n-1"},
                    {
                        "kind": "url",
                        "title": "Lisbon tram map",
                        "uri": "https://example.com/tram",
                        "idempotency_key": "n-2",
                    },
                ]
            },
        )
        assert batch.status_code == 200, batch.text
        ids = [x["id"] for x in batch.json()["results"]]
        retry = c.post(
            "/v1/memory/events/batch",
            json={"events": [{"kind": "note", "body": "Buy milk and bread", "idempotency_key": "n-1"}]},
        ).json()
        assert retry["results"][0] == {"id": ids[0], "duplicate": True, "redactions": 0}

        hits = c.post("/v1/memory/search", json={"query": "lease contract", "mode": "keyword"}).json()["hits"]
        assert hits[0]["event"]["id"] == first["id"] and hits[0]["citation"] == f"[mem:{first['id']}]"
        assert hits[0]["event"]["app"] == "mail"
        assert c.post("/v1/memory/search", json={"query": "contract"}).json()["hits"]  # hybrid works too
        cands = c.post("/v1/memory/resolve", json={"text": "the contract Ana sent"}).json()["candidates"]
        assert cands[0]["event"]["id"] == first["id"] and cands[0]["reasons"]
        events = c.post("/v1/memory/browse", json={"kinds": ["note", "url"]}).json()["events"]
        assert sorted(e["id"] for e in events) == sorted(ids)
        stats = c.get("/v1/memory/stats").json()
        assert stats["events"] == 3 and stats["apps"] == {"mail": 3} and stats["cross_app"] is False
        assert "path" not in stats  # owner-only details stay with the user


def test_second_app_needs_a_grant_to_read_the_first(mem_daemon: Daemon) -> None:
    with mem_daemon.tcp("mail") as mail:
        secret = mail.post(
            "/v1/memory/events",
            json={
                "kind": "message",
                "title": "Dentist appointment moved",
                "body": "Thursday 10:00 with Dr Carla",
            },
        ).json()["id"]
    with mem_daemon.tcp("browser") as br:
        br.post(
            "/v1/memory/events", json={"kind": "url", "title": "Dentist reviews", "uri": "https://x.test/d"}
        )
        hits = br.post("/v1/memory/search", json={"query": "dentist", "mode": "keyword"}).json()["hits"]
        assert [h["event"]["app"] for h in hits] == ["browser"]  # its own only, not mail's
        r = br.post("/v1/memory/browse", json={"apps": ["mail"]})
        assert r.status_code == 403 and r.json()["error"]["code"] == "scope_denied"
        assert "grant" in r.json()["error"]["fix"]
        # the user grants cross-app read (CLI: `assistant memory grant browser`); it applies at once
        skill = mem_daemon.services.skill("memory")
        skill.grant(Caller.user(), "browser")
        try:
            hits = br.post("/v1/memory/search", json={"query": "dentist", "mode": "keyword"}).json()["hits"]
            assert secret in [h["event"]["id"] for h in hits]
            assert br.post("/v1/memory/browse", json={"apps": ["mail"]}).status_code == 200
            assert br.get("/v1/memory/stats").json()["cross_app"] is True
            # reading is granted, changing is not: forgetting mail's event by id leaves it in place
            assert br.post("/v1/memory/forget", json={"ids": [secret]}).json()["forgotten"] == 0
        finally:
            skill.revoke(Caller.user(), "browser")
        assert br.post("/v1/memory/browse", json={"apps": ["mail"]}).status_code == 403


def test_write_scope_alone_cannot_read_and_chat_scope_cannot_write(mem_daemon: Daemon) -> None:
    with mem_daemon.tcp("writer") as w:
        assert w.post("/v1/memory/events", json={"kind": "note", "body": "write only"}).status_code == 200
        r = w.post("/v1/memory/search", json={"query": "write"})
        assert r.status_code == 403 and "memory:read" in r.json()["error"]["message"]
        assert w.get("/v1/memory/stats").status_code == 403
    with mem_daemon.tcp("chatter") as c:
        assert c.post("/v1/memory/events", json={"kind": "note", "body": "x"}).status_code == 403


@pytest.mark.parametrize(
    "event, field",
    [
        ({"title": "no kind"}, "kind"),
        ({"kind": "mesage", "title": "typo"}, "kind"),
        ({"kind": "note", "title": 42}, "title"),
        ({"kind": "note", "body": "x", "colour": "red"}, "colour"),
        ({"kind": "note", "body": "x", "sensitivity": "top"}, "sensitivity"),
        ({"kind": "note", "body": "x", "entities": {"people": "Ana"}}, "entities.people"),
        ({"kind": "note"}, "body"),
        ({"kind": "note", "body": "x", "created": 4e12}, "created"),
    ],
)
def test_malformed_event_is_422_naming_the_field(mem_daemon: Daemon, event: dict, field: str) -> None:
    with mem_daemon.tcp("mail") as c:
        r = c.post("/v1/memory/events", json=event)
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert err["field"] == field, err
        assert err["message"]


def test_batch_error_names_the_event_and_stores_nothing(mem_daemon: Daemon) -> None:
    with mem_daemon.tcp("mail") as c:
        before = c.get("/v1/memory/stats").json()["events"]
        r = c.post(
            "/v1/memory/events/batch",
            json={"events": [{"kind": "note", "body": "ok"}, {"kind": "bogus", "body": "bad"}]},
        )
        assert r.status_code == 422 and r.json()["error"]["field"] == "events.1.kind"
        assert c.get("/v1/memory/stats").json()["events"] == before


def test_forget_own_events_and_paused_capture(mem_daemon: Daemon) -> None:
    skill = mem_daemon.services.skill("memory")
    with mem_daemon.tcp("browser") as c:
        ids = [
            x["id"]
            for x in c.post(
                "/v1/memory/events/batch",
                json={"events": [{"kind": "note", "body": f"forget me {i}"} for i in range(3)]},
            ).json()["results"]
        ]
        assert c.post("/v1/memory/forget", json={"ids": ids[:1]}).json() == {"forgotten": 1}
        assert c.post("/v1/memory/forget", json={}).status_code == 422
        skill.pause(Caller.user())
        try:
            r = c.post("/v1/memory/events", json={"kind": "note", "body": "while paused"})
            assert r.status_code == 423 and r.json()["error"]["code"] == "capture_paused"
        finally:
            skill.resume(Caller.user())
        n = c.post("/v1/memory/forget", json={"all": True}).json()["forgotten"]
        assert n >= 2 and c.get("/v1/memory/stats").json()["apps"].get("browser") is None
    with mem_daemon.tcp("mail") as c:  # another app's events are untouched
        assert c.get("/v1/memory/stats").json()["apps"]["mail"] >= 3


def test_client_conveniences(mem_daemon: Daemon) -> None:
    with Client(ClientOptions(base_url=mem_daemon.url, token=mem_daemon.tokens["mail"])) as c:
        pushed = c.memory_push(
            {"kind": "note", "title": "Client SDK note", "body": "pushed through the client"}
        )
        hits = c.memory_search("SDK note", mode="keyword")
        assert hits.hits[0].event.id == pushed.id
        with pytest.raises(DaemonError) as err:
            c.memory_push({"kind": "note"})
        assert err.value.status == 422 and err.value.field == "body"


def test_invalid_event_carries_its_field_as_data(mem_daemon: Daemon) -> None:
    # the daemon reads `field` off the error; nothing parses it back out of the message
    skill = mem_daemon.services.skill("memory")
    with pytest.raises(InvalidEvent) as one:
        skill.push(Caller.user(), {"kind": "bogus", "body": "x"})
    assert one.value.field == "kind"
    with pytest.raises(InvalidEvent) as batch:
        skill.push_batch(Caller.user(), [{"kind": "note", "body": "ok"}, {"kind": "note", "uri": 3}])
    assert batch.value.field == "events.1.uri"


def test_revoked_app_loses_its_grant_and_a_new_one_of_that_name_starts_with_nothing(
    mem_daemon: Daemon,
) -> None:
    skill = mem_daemon.services.skill("memory")
    with mem_daemon.tcp("browser") as b:
        assert (
            b.post("/v1/memory/events", json={"kind": "note", "body": "browser secret plans"}).status_code
            == 200
        )
    token = mem_daemon.registry.add("spy", "memory:read")
    skill.grant(Caller.user(), "spy")
    with mem_daemon.tcp(headers={"Authorization": f"Bearer {token}"}, token=None) as spy:
        assert spy.post("/v1/memory/browse", json={"apps": ["browser"]}).status_code == 200
    mem_daemon.registry.revoke("spy")  # what `assistant apps revoke spy` does first
    fresh = mem_daemon.registry.add("spy", "memory:read")
    with mem_daemon.tcp(headers={"Authorization": f"Bearer {fresh}"}, token=None) as spy:
        assert spy.post("/v1/memory/browse", json={"apps": ["browser"]}).status_code == 403
        assert spy.get("/v1/memory/stats").json()["cross_app"] is False
    mem_daemon.registry.revoke("spy")
