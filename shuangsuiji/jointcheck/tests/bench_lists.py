"""Time the task list, the office's overdue list and one task page over many tasks.

    SSJ_BENCH_TASKS=20000 SHUANGSUIJI_DATA=/tmp/ssj_jc [DATABASE_URL=postgres://…/ssj_jc] \
        .venv/bin/python -m pytest -q -s -p no:cacheprovider -o python_functions=bench_ \
        shuangsuiji/jointcheck/tests/bench_lists.py

Not collected by the suite (neither the file nor the function is named ``test_…``): each task has
its lead and two partners whose response dates have passed, so the overdue list holds 2 × N rows.
"""

import datetime
import os
import time

from django.db import connection

from shuangsuiji.core.models import Department
from shuangsuiji.jointcheck import selectors
from shuangsuiji.jointcheck.models import JointTask, TaskDepartment


def bench_pages(org):
    n = int(os.environ.get("SSJ_BENCH_TASKS", "20000"))
    depts = [org.scjgj, org.gaj] + [
        Department.objects.create(jurisdiction=org.prefecture, code=f"B{i}", name=f"局{i}")
        for i in range(8)
    ]
    JointTask.objects.bulk_create(
        [
            JointTask(
                jurisdiction=org.prefecture,
                code=f"2026-{depts[i % 10].code}-{i:05d}",
                year=2026,
                seq=i,
                name=f"任务{i}",
                lead_department=depts[i % 10],
                state="awaiting",
                period_start=datetime.date(2026, 3, 1),
                period_end=datetime.date(2026, 12, 31),
            )
            for i in range(n)
        ],
        batch_size=2000,
    )
    index = {d.pk: i for i, d in enumerate(depts)}
    rows = []
    for t in JointTask.objects.only("pk", "lead_department_id"):
        rows.append(
            TaskDepartment(
                task=t, department_id=t.lead_department_id, role="lead", response="accepted"
            )
        )
        for k in (1, 2):
            partner = depts[(index[t.lead_department_id] + k) % 10]
            rows.append(
                TaskDepartment(task=t, department=partner, response_due=datetime.date(2026, 3, 10))
            )
    TaskDepartment.objects.bulk_create(rows, batch_size=5000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    print(f"\n{connection.vendor}: {n} tasks, {len(rows)} task departments")
    urls = [
        "/tasks/",
        "/tasks/?page=200",
        "/tasks/?q=任务1999",
        f"/tasks/?department={org.gaj.pk}&state=awaiting",
    ]
    for who, extra in (
        ("office", ["/tasks/overdue/", "/tasks/overdue/?page=100"]),
        ("gaj_admin", []),
    ):
        client = org.client(getattr(org, who))
        for url in urls + extra:
            client.get(url)
            t0 = time.perf_counter()
            status = client.get(url).status_code
            print(f"{who:10s} {url:45s} {status} {(time.perf_counter() - t0) * 1000:.0f} ms")
    task = JointTask.objects.filter(lead_department=org.scjgj).first()
    client = org.client(org.scjgj_admin)
    client.get(f"/tasks/{task.pk}/")
    t0 = time.perf_counter()
    client.get(f"/tasks/{task.pk}/")
    print(f"task page {(time.perf_counter() - t0) * 1000:.0f} ms")
    print(f"overdue rows: {selectors.overdue_responses(org.office).count()}")
