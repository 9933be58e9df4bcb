"""bench/bench_sync.py at a tiny scale: responses lost after the commit neither lose nor double a visit.

The benchmark's own proxy, phones and checks, against the in-process live server: 3 phones
sync 10 visits each twice while 30 % of responses are dropped, once visit by visit and
once in batches of 4.
"""

from __future__ import annotations

import uuid

import pytest

from bench.bench_sync import (
    DroppingProxy,
    Phone,
    check_database,
    connect,
    create_workers,
    general_form_version,
    make_outbox,
    phone_models,
    run_phones,
)

PHONES, VISITS, DROP = 3, 10, 0.30


def test_the_proxy_drops_a_reproducible_share() -> None:
    bodies = [f"body {i}".encode() for i in range(5000)]
    first = DroppingProxy(("127.0.0.1", 9), 0.10, seed=7)
    again = DroppingProxy(("127.0.0.1", 9), 0.10, seed=7)
    decisions = [first.should_drop(b) for b in bodies]
    assert decisions == [again.should_drop(b) for b in bodies]  # whatever the order of arrival
    assert 0.08 < sum(decisions) / len(bodies) < 0.12
    # the same body sent again is decided afresh: a re-sent visit is not dropped forever
    assert [first.should_drop(b) for b in bodies] != decisions


@pytest.mark.parametrize("mode", ["single", "batch"])
def test_dropped_responses_neither_lose_nor_double_visits(mode, demo_settings, live_server) -> None:
    names = [f"t_sync_{mode}_{uuid.uuid4().hex[:6]}_{i}" for i in range(PHONES)]
    accounts = create_workers(demo_settings, names)
    version = general_form_version(live_server, accounts[0][1])
    # seeded by mode and phone: the same ids and bodies, so the same responses are dropped, every run
    outboxes = {
        name: make_outbox(f"test:{mode}:{i}", phone_models(live_server, token), version, VISITS, i * VISITS)
        for i, (name, token, _) in enumerate(accounts)
    }
    host, port = live_server.removeprefix("http://").rsplit(":", 1)

    with DroppingProxy((host, int(port)), DROP, seed=11) as proxy:
        proxy_port = proxy.start()
        phones = [
            (Phone(name, token, "127.0.0.1", proxy_port, timeout=30), outboxes[name]) for name, token, _ in accounts
        ]
        run_phones(phones, mode, batch_size=4)
        stats = proxy.stats()
    logs = [p.log for p, _ in phones]

    with connect(demo_settings) as conn:
        check = check_database(conn, outboxes)
    assert check["ok"], check
    assert (check["stored"], check["lost"], check["duplicate_ids"], check["duplicate_bodies"]) == (
        PHONES * VISITS,
        0,
        0,
        0,
    )
    assert not [f for log in logs for f in log.failures]
    # every lost response was noticed by its phone and the request sent again
    assert stats["responses_dropped"] == sum(log.dropped for log in logs) == sum(log.retries for log in logs)
    assert stats["requests"] == sum(log.requests for log in logs)
    acknowledged = sum((log.acknowledged for log in logs), start=type(logs[0].acknowledged)())
    assert acknowledged["pass1:201"] + acknowledged["pass1:200"] == PHONES * VISITS
    assert acknowledged["pass2:200"] == PHONES * VISITS and not acknowledged["pass2:201"]
    assert stats["responses_dropped"] > 0
    if mode == "single":
        # the server created each visit exactly once; a phone whose 201 was lost got 200 on its re-send
        assert stats["upstream_status"] == {"200": stats["requests"] - PHONES * VISITS, "201": PHONES * VISITS}
        assert acknowledged["pass1:200"] > 0
