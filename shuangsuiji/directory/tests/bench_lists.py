"""Time the target list queries on a generated directory and print SQLite/PostgreSQL query plans.

    SHUANGSUIJI_DATA=/tmp/ssj-bench .venv/bin/python -m shuangsuiji.directory.tests.bench_lists 100000

Not a test (pytest does not collect it): a check that the list page stays fast on 100k+ rows.
"""

import os
import random
import sys
import time


def main(n: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shuangsuiji.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.http import QueryDict

    from shuangsuiji.core.models import Department, Jurisdiction, User
    from shuangsuiji.directory import identifiers, selectors
    from shuangsuiji.directory.models import DirectoryEntry, Target

    call_command("migrate", verbosity=0)
    pref, _ = Jurisdiction.objects.get_or_create(
        code="652800", defaults={"name": "州", "level": "prefecture"}
    )
    counties = [
        Jurisdiction.objects.get_or_create(
            code=c, defaults={"name": c, "level": "county", "parent": pref}
        )[0]
        for c in (
            "652801",
            "652822",
            "652823",
            "652824",
            "652825",
            "652826",
            "652827",
            "652828",
            "652829",
        )
    ]
    scjgj, _ = Department.objects.get_or_create(
        jurisdiction=pref, code="SCJGJ", defaults={"name": "市场监管局"}
    )
    gaj, _ = Department.objects.get_or_create(
        jurisdiction=pref, code="GAJ", defaults={"name": "公安局"}
    )
    office, _ = User.objects.get_or_create(
        username="bench_office",
        defaults={"role": "office", "jurisdiction": pref, "department": scjgj},
    )
    admin, _ = User.objects.get_or_create(
        username="bench_admin",
        defaults={"role": "dept_admin", "jurisdiction": pref, "department": gaj},
    )
    have = Target.objects.count()
    if have < n:
        rng = random.Random(1)
        sections = "ACEFGHIKLMO"
        batch = []
        for i in range(have, n):
            code = identifiers.make_uscc("9", "1", rng.choice(counties).code, f"{i:08d}")
            batch.append(
                Target(
                    jurisdiction=pref,
                    code=code,
                    code_kind="uscc",
                    name=f"测试企业{i}有限公司",
                    object_kind="company",
                    region=rng.choice(counties),
                    industry=rng.choice(sections),
                    risk_class=rng.choice("AABBBBCD"),
                    abnormal=rng.random() < 0.03,
                    complaints=rng.choice([0] * 20 + [1, 2, 5]),
                )
            )
            if len(batch) == 5000:
                Target.objects.bulk_create(batch)
                batch = []
        Target.objects.bulk_create(batch)
        ids = list(Target.objects.values_list("id", flat=True))
        entries = [
            DirectoryEntry(department=gaj, target_id=pk, tags="|食品|" if pk % 7 == 0 else "")
            for pk in ids
            if pk % 3 == 0
        ]
        DirectoryEntry.objects.bulk_create(entries, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    cases = [
        (office, ""),
        (office, "q=91652801"),
        (office, "q=测试企业12345"),
        (office, "region=652822&risk=C&risk=D"),
        (office, "section=F&abnormal=1"),
        (office, "complaints=5"),
        (office, "tag=食品"),
        (office, "department=GAJ"),
        (admin, ""),
        (admin, "tag=食品&risk=D"),
        (admin, "q=9165"),
    ]
    print(
        f"{Target.objects.count()} targets, {DirectoryEntry.objects.count()} entries, {connection.vendor}"
    )
    for user, qs in cases:
        params = QueryDict(qs)
        page_ms = count_ms = float("inf")
        for _ in range(3):  # best of three: the machine may be busy
            started = time.perf_counter()
            queryset = selectors.target_entries(user=user, params=params)
            rows = list(queryset[:50])
            page_ms = min(page_ms, (time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            counts = selectors.target_counts(user=user, params=params)
            count_ms = min(count_ms, (time.perf_counter() - started) * 1000)
        print(
            f"{user.username:13} {qs or '(all)':30} rows={len(rows):3} total={counts['total']:6} "
            f"page={page_ms:6.1f} ms counts={count_ms:6.1f} ms"
        )
        if "-v" in sys.argv:
            count_qs = (
                selectors._targets(
                    user=user,
                    params=params,
                    department=selectors.target_department(user=user, params=params),
                    for_scan=True,
                )
                .order_by()
                .values_list("risk_class", "region_id")
                .annotate(n=Count("pk"))
            )
            for label, query in (("page", queryset[:50]), ("counts", count_qs)):
                sql, sql_params = query.query.sql_with_params()
                with connection.cursor() as cursor:
                    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
                    cursor.execute(explain + sql, sql_params)
                    for row in cursor.fetchall():
                        print(f"      {label}: {row[-1]}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 100_000)
