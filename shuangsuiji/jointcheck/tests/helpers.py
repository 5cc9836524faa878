"""Builders for the joint-task tests: published item lists, a small directory, the 2026 working-day
calendar, extra departments, and tasks in each state."""

import datetime

from shuangsuiji.catalog.tests.helpers import item_data, published_list
from shuangsuiji.core import workdays
from shuangsuiji.core.models import Department, User
from shuangsuiji.core.tests.fixtures import PASSWORD
from shuangsuiji.jointcheck import services
from shuangsuiji.planning.tests.helpers import setup_lists, setup_targets

YEAR = 2026


class World:
    """The ``org`` fixture plus published lists, targets and the 2026 calendar."""

    def __init__(self, org):
        self.org = org
        workdays.seed_from_chinese_calendar(range(YEAR, YEAR + 1))
        self.scjgj_items, self.gaj_items = setup_lists(org)
        self.gaj_head = User.objects.create_user(
            username="gaj_head",
            password=PASSWORD,
            full_name="gaj_head",
            role=User.Role.DEPT_HEAD,
            jurisdiction=org.prefecture,
            department=org.gaj,
        )
        setup_targets(org)

    def task_data(self, **overrides) -> dict:
        data = {
            "name": "食品与旅馆业联合检查",
            "year": YEAR,
            "scope": {"region": "652801"},
            "items": [self.scjgj_items[1].pk, self.gaj_items[0].pk],
            "strata_by": "risk",
            "allocation_mode": "ratio",
            "ratios": {"A": 300, "B": 500, "C": 1500, "D": 3000},
            "period_start": datetime.date(YEAR, 3, 1),
            "period_end": datetime.date(YEAR, 12, 31),
            "draw_date": datetime.date(YEAR, 3, 20),
            "departments": [self.org.gaj.pk],
        }
        data.update(overrides)
        return data

    def draft(self, **overrides):
        return services.create_task(user=self.org.scjgj_admin, data=self.task_data(**overrides))

    def awaiting(self, today=datetime.date(YEAR, 11, 20), **overrides):
        task = self.draft(**overrides)
        return services.initiate(user=self.org.scjgj_admin, task=task, today=today)

    def established(self, **overrides):
        task = self.awaiting(**overrides)
        if task.participants.filter(role="partner").exists():
            services.respond(
                user=self.org.gaj_admin,
                task=task,
                accept=True,
                items=[self.gaj_items[0].pk],
                inspectors_per_team=1,
            )
        return services.establish(user=self.org.scjgj_admin, task=task, data=scheme())

    def extra_departments(self, n: int) -> list[Department]:
        """``n`` more departments, each with an admin and one published item."""
        found = []
        for i in range(n):
            code = f"D{i + 1}"
            dept = Department.objects.create(
                jurisdiction=self.org.prefecture,
                code=code,
                name=f"州第{i + 1}局",
                sort_order=10 + i,
            )
            admin = User.objects.create_user(
                username=f"{code.lower()}_admin",
                password=PASSWORD,
                role=User.Role.DEPT_ADMIN,
                jurisdiction=self.org.prefecture,
                department=dept,
            )
            published_list(admin, dept, [item_data(name=f"第{i + 1}局检查", item_class="C")])
            found.append(dept)
        return found


def scheme(**overrides) -> dict:
    data = {
        "inspect_start": datetime.date(YEAR, 4, 1),
        "inspect_end": datetime.date(YEAR, 6, 30),
        "batches": 1,
        "targets_per_team": 1,
        "rotation_rule": True,
        "required_specialities": "食品安全",
        "scheme_note": "进一次门、查多项事",
        "inspectors_per_team": {"SCJGJ": 1, "GAJ": 1},
    }
    data.update(overrides)
    return data
