"""The demo's joint tasks, driven through the real services so that every page, audit entry and
public-log document is what a user would have produced.

Three tasks of 2026 led by the market regulator, so a newcomer sees each step:
- one dispatched (已派发): partner responded, a sealed target draw with the two departments'
  commit–reveal published in the public log, inspectors drawn and teams formed;
- one established (已确立) and ready to draw, a department-internal task with server entropy;
- one waiting for the partner's response (待响应).

The departments' secrets, which a real user's browser makes (static/js/commit_reveal.js), are made
here with ``secrets`` on their behalf. Runs once: nothing is added when the jurisdiction already has
tasks.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Callable

from django.utils import timezone

from shuangsuiji.catalog.models import Item, ItemList
from shuangsuiji.core.models import Department, User
from shuangsuiji.draws import services as draws
from shuangsuiji.jointcheck import services as tasks
from shuangsuiji.jointcheck.models import JointTask
from shuangsuiji.protocol import draw as protocol
from shuangsuiji.staffing import services as staffing

YEAR = 2026


def _items(department: Department, *names: str) -> list[Item]:
    """The department's published items of these names (demo data: data.ITEMS)."""
    return list(
        Item.objects.filter(
            item_list__department=department,
            item_list__status=ItemList.Status.PUBLISHED,
            name__in=names,
        )
    )


def _task_data(name: str, items: list[Item], partners: list[Department], **extra) -> dict:
    return {
        "name": name,
        "year": YEAR,
        "items": [item.pk for item in items],
        "departments": [d.pk for d in partners],
        "period_start": datetime.date(YEAR, 11, 1),
        "period_end": datetime.date(YEAR, 12, 31),
        "draw_date": datetime.date(YEAR, 11, 26),
        **extra,
    }


def _scheme(per_team: dict[str, int]) -> dict:
    return {
        "inspect_start": datetime.date(YEAR, 12, 1),
        "inspect_end": datetime.date(YEAR, 12, 25),
        "batches": 1,
        "targets_per_team": 1,
        "rotation_rule": True,
        "required_specialities": "",
        "scheme_note": "进一次门、查多项事：两部门同一天到场，各自填写检查记录。",
        "inspectors_per_team": per_team,
    }


def _secret() -> tuple[str, str]:
    value = secrets.token_hex(32)
    return value, protocol.commitment(value)


def _dispatched_task(users: dict[str, User], scjgj: Department, gaj: Department) -> JointTask:
    admin, partner = users["scjgj_admin"], users["gaj_admin"]
    task = tasks.create_task(
        user=admin,
        data=_task_data(
            "2026年第四季度旅馆餐饮场所部门联合抽查",
            _items(scjgj, "餐饮服务提供者的监督检查") + _items(gaj, "旅馆业治安管理的检查"),
            [gaj],
            scope={"region": "652801"},
            strata_by="risk",
            allocation_mode="count",
            count_total=30,
            weights={"A": 1, "B": 2, "C": 4, "D": 8, "U": 2},
        ),
    )
    tasks.initiate(user=admin, task=task)
    tasks.respond(
        user=partner,
        task=task,
        accept=True,
        items=[i.pk for i in _items(gaj, "旅馆业治安管理的检查")],
        inspectors_per_team=1,
    )
    task = tasks.establish(user=admin, task=task, data=_scheme({"SCJGJ": 1, "GAJ": 1}))

    draw = draws.prepare(user=admin, task=task)
    draws.configure_entropy(
        user=admin,
        draw=draw,
        plan=draws.EntropyPlan(
            parties=True, reveals_due=timezone.now() + datetime.timedelta(days=1)
        ),
    )
    draws.request_freeze(user=admin, draw=draw)
    draws.run_freeze(draw.pk, user=admin)
    reveals = {}
    for department, user in ((scjgj, admin), (gaj, partner)):
        reveals[department.code], commit = _secret()
        draws.commit(user=user, draw=draw, department=department, commitment=commit)
    draws.announce(user=admin, draw=draw)
    for department, user in ((scjgj, admin), (gaj, partner)):
        draws.reveal(user=user, draw=draw, department=department, value=reveals[department.code])
    draws.perform(user=admin, draw=draw)

    task.refresh_from_db()
    run = staffing.create_run(
        user=admin, task=task, inputs=staffing.RunInputs(need={}, experts=[], parties=True)
    )
    for user in (admin, partner):
        reveals[user.username], commit = _secret()
        staffing.commit(user=user, run=run, commitment=commit)
    for user in (admin, partner):
        staffing.reveal(user=user, run=run, value=reveals[user.username])
    run = staffing.perform(user=admin, run=run)
    if run.state == run.State.DONE:
        staffing.dispatch(user=admin, task=task)
    task.refresh_from_db()
    return task


def load_tasks(users: dict[str, User], departments: dict[str, Department], progress: Callable):
    """Add the demo tasks unless the jurisdiction has tasks already; returns the tasks added."""
    scjgj, gaj = departments["SCJGJ"], departments["GAJ"]
    if JointTask.objects.filter(jurisdiction=scjgj.jurisdiction).exists():
        return []
    admin = users["scjgj_admin"]
    progress("抽查任务、检查对象抽取和执法人员抽取 …")
    added = [_dispatched_task(users, scjgj, gaj)]

    internal = tasks.create_task(
        user=admin,
        data=_task_data(
            "2026年特种设备使用单位部门内部抽查（库尔勒市）",
            _items(scjgj, "特种设备使用单位的监督检查"),
            [],
            scope={"region": "652801"},
            strata_by="risk",
            allocation_mode="ratio",
            ratios={"A": 100, "B": 300, "C": 1000, "D": 3000, "U": 300},
        ),
    )
    tasks.initiate(user=admin, task=internal)
    added.append(tasks.establish(user=admin, task=internal, data=_scheme({"SCJGJ": 2})))

    waiting = tasks.create_task(
        user=admin,
        data=_task_data(
            "2026年娱乐场所食品安全与治安部门联合抽查（轮台县）",
            _items(scjgj, "食品销售者的监督检查") + _items(gaj, "娱乐场所治安管理的检查"),
            [gaj],
            scope={"region": "652822"},
            strata_by="risk",
            allocation_mode="ratio",
            ratios={"A": 200, "B": 500, "C": 1500, "D": 3000, "U": 500},
        ),
    )
    added.append(tasks.initiate(user=admin, task=waiting))
    return added
