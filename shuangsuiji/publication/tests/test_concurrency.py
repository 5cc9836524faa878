"""Concurrent appends on PostgreSQL: many writers at once, every index used exactly once, and the
head and stored subtrees equal to merkle's over the final order. (SQLite's IMMEDIATE transactions
serialise writers before they read anything, so the race needs row locks to be meaningful.)"""

import threading

import pytest
from django.db import connection, connections

from shuangsuiji.protocol import merkle
from shuangsuiji.publication import selectors, services, tree
from shuangsuiji.publication.models import LogEntry, LogSubtree

from .helpers import result_doc

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs row locks (PostgreSQL)"
)


def test_concurrent_appends(transactional_db, monkeypatch):
    monkeypatch.setattr(tree, "CHUNK_LEVEL", 2)  # small stored subtrees, written under the race
    monkeypatch.setattr(tree, "CHUNK", 4)
    threads_n, per_thread = 8, 6
    barrier = threading.Barrier(threads_n)
    errors: list[Exception] = []

    def writer(t: int) -> None:
        try:
            barrier.wait()
            for k in range(per_thread):
                services.append(result_doc(t * 100 + k))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    n = threads_n * per_thread
    rows = list(LogEntry.objects.order_by("index").values_list("index", "document"))
    assert [i for i, _ in rows] == list(range(n))
    assert {bytes(d) for _, d in rows} == {
        result_doc(t * 100 + k) for t in range(threads_n) for k in range(per_thread)
    }
    leaves = [merkle.leaf_hash(bytes(d)) for _, d in rows]
    assert selectors.head() == (n, merkle.root(leaves))
    for node in LogSubtree.objects.all():
        assert bytes(node.hash) == merkle.root(leaves[node.start : node.start + (1 << node.level)])
    assert LogSubtree.objects.filter(level=2).count() == n // 4


def test_first_appends_race_on_an_empty_log(transactional_db):
    # No head row yet: both writers insert-if-absent, one waits, neither fails.
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def writer(i: int) -> None:
        try:
            barrier.wait()
            services.append(result_doc(i))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert sorted(LogEntry.objects.values_list("index", flat=True)) == [0, 1]
