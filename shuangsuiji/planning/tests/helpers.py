"""Builders for the planning tests: published item lists, a small directory, plan lines."""

import datetime

from shuangsuiji.catalog.tests.helpers import item_data, published_list
from shuangsuiji.directory.models import DirectoryEntry, Target
from shuangsuiji.planning import services

YEAR = 2027


def setup_lists(org):
    """SCJGJ publishes three items (A, B, C), GAJ one (C)."""
    scjgj = published_list(
        org.scjgj_admin,
        org.scjgj,
        [
            item_data(name="食品生产条件检查", item_class="A"),
            item_data(name="特种设备安全检查", item_class="B", item_type="重点检查事项"),
            item_data(name="消防与市场联合检查", item_class="C"),
        ],
    )
    gaj = published_list(
        org.gaj_admin,
        org.gaj,
        [item_data(name="旅馆业治安检查", item_class="C", subject="州公安局")],
    )
    return list(scjgj.items.order_by("seq")), list(gaj.items.order_by("seq"))


def setup_targets(org, counts=None):
    """Targets in both departments' directories: by default A×100, B×50, C×10, D×3 in Korla."""
    counts = counts or {"A": 100, "B": 50, "C": 10, "D": 3}
    targets = []
    n = 0
    for cls, how_many in counts.items():
        for _ in range(how_many):
            n += 1
            targets.append(
                Target(
                    jurisdiction=org.prefecture,
                    code=f"T{n:06d}",
                    code_kind=Target.CodeKind.OTHER,
                    name=f"对象{n}",
                    object_kind=Target.ObjectKind.COMPANY,
                    region=org.korla,
                    risk_class=cls,
                )
            )
    Target.objects.bulk_create(targets)
    entries = []
    for target in Target.objects.filter(jurisdiction=org.prefecture):
        entries.append(DirectoryEntry(department=org.scjgj, target=target))
        entries.append(DirectoryEntry(department=org.gaj, target=target))
    DirectoryEntry.objects.bulk_create(entries)


def line_data(items, **overrides) -> dict:
    data = {
        "plan_name": f"{YEAR}年度双随机抽查计划",
        "task_name": "食品生产企业监督检查",
        "kind": "internal",
        "directed": False,
        "scope": {"region": "652801"},
        "items": [item.pk for item in items],
        "ratios": {"A": 300, "B": 500, "C": 1500, "D": 3000},
        "credit_linked": True,
        "period_start": datetime.date(YEAR, 4, 1),
        "period_end": datetime.date(YEAR, 10, 31),
        "draw_date": datetime.date(YEAR, 3, 25),
        "lead_division": "信用监管科",
        "support_divisions": "食品生产科",
    }
    data.update(overrides)
    return data


def accepted_plan(org, user, department, lines):
    plan = services.create_plan(user=user, department=department, year=YEAR)
    for data in lines:
        services.create_line(user=user, plan=plan, data=data)
    services.submit_plan(user=user, plan=plan)
    return services.accept_plan(user=org.office, plan=plan)
