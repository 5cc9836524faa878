"""Measure the public log at scale: ``python -m shuangsuiji.publication.bench_log [N]``.

Loads N entries in bulk (with their stored subtrees, as N appends would have written them), then
times single appends, the tree head, proofs through the stored tree, and the naive way (every leaf
read, merkle over all of them) for comparison. Uses the configured database: point DATABASE_URL /
SHUANGSUIJI_DATA at a scratch one — it empties the log first.
"""

from __future__ import annotations

import os
import sys
import time


def main(n: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shuangsuiji.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from shuangsuiji.protocol import draw as D
    from shuangsuiji.protocol import merkle
    from shuangsuiji.publication import selectors, services, tree
    from shuangsuiji.publication.models import LogEntry, LogHead, LogSubtree

    call_command("migrate", verbosity=0)
    for model in (LogEntry, LogSubtree, LogHead):
        model.objects.all()._raw_delete(model.objects.db)

    def doc(i: int) -> bytes:
        return D.dumps(
            {"type": "result", "task": f"SSJ-2027-{i % 997:04d}", "n": i, "text": "合格" * 20}
        )

    t = time.perf_counter()
    now = timezone.now()
    leaves = []
    with transaction.atomic():
        batch = []
        for i in range(n):
            d = doc(i)
            leaves.append(merkle.leaf_hash(d))
            batch.append(
                LogEntry(
                    index=i,
                    document=d,
                    leaf_hash=leaves[-1],
                    kind="result",
                    type="result",
                    task=f"T{i % 997}",
                    published_at=now,
                )
            )
            if len(batch) == 5000:
                LogEntry.objects.bulk_create(batch)
                batch = []
        LogEntry.objects.bulk_create(batch)
        nodes = []
        level = tree.CHUNK_LEVEL
        while (1 << level) <= n:
            w = 1 << level
            nodes += [
                LogSubtree(level=level, start=s, hash=merkle.root(leaves[s : s + w]))
                for s in range(0, n - w + 1, w)
            ]
            level += 1
        LogSubtree.objects.bulk_create(nodes, batch_size=5000)
        LogHead.objects.create(pk=1, size=n, root=merkle.root(leaves))
    print(
        f"{connection.vendor}: bulk load of {n} entries, {len(nodes)} stored subtrees: {time.perf_counter() - t:.1f} s"
    )

    def timed(label, fn, repeat=20):
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        print(f"  {label}: {best * 1000:.1f} ms (best of {repeat})")

    size = n
    timed("head (stored row)", selectors.head)
    timed("root recomputed from stored subtrees", lambda: tree.StoredTree(size).root())
    timed("inclusion proof, index n/3", lambda: selectors.inclusion(size // 3, size))
    timed("inclusion proof, last entry", lambda: selectors.inclusion(size - 1, size))
    timed("consistency proof, first=n-12345", lambda: selectors.consistency(size - 12345, size))

    def naive():
        all_leaves = [
            bytes(h) for h in LogEntry.objects.order_by("index").values_list("leaf_hash", flat=True)
        ]
        return merkle.root(all_leaves)

    assert naive() == selectors.head()[1] == tree.StoredTree(size).root()
    timed("naive: read every leaf + merkle.root", naive, repeat=3)

    t0 = time.perf_counter()
    k = 300
    for i in range(k):
        services.append(doc(n + i))
    print(
        f"  append (one transaction each): {(time.perf_counter() - t0) / k * 1000:.2f} ms per entry over {k}"
    )
    final = [
        bytes(h) for h in LogEntry.objects.order_by("index").values_list("leaf_hash", flat=True)
    ]
    assert selectors.head() == (n + k, merkle.root(final)), "head differs from merkle"
    print("  head after appends equals merkle.root over all leaves: OK")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
