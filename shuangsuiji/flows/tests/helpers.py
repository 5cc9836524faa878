"""The world every flow test starts from: the ``org`` fixture's two departments with published item
lists, the 2026 working-day calendar, a small directory in both departments' directories, the
inspectors of both departments (each with a login), and an accepted annual plan whose joint line
SCJGJ initiates with GAJ."""

from __future__ import annotations

import datetime

from shuangsuiji.core import workdays
from shuangsuiji.core.models import User
from shuangsuiji.core.tests.fixtures import PASSWORD
from shuangsuiji.directory.models import DirectoryEntry, Inspector, Target, pack
from shuangsuiji.draws import services as draws
from shuangsuiji.draws.tests.helpers import frozen_draw, secret
from shuangsuiji.jointcheck import services as tasks
from shuangsuiji.planning import services as planning
from shuangsuiji.planning.tests.helpers import setup_lists
from shuangsuiji.staffing import services as staffing

YEAR = 2026
# Five targets per credit-risk class; 20 % of each class → one target per class, four in all.
CLASSES = "ABCD"
PER_CLASS = 5
RATIOS = {"A": 2000, "B": 2000, "C": 2000, "D": 2000}
PERIOD = (datetime.date(YEAR, 12, 1), datetime.date(YEAR, 12, 31))
INSPECT = (datetime.date(YEAR, 12, 7), datetime.date(YEAR, 12, 18))


class Flow:
    def __init__(self, org, *, inspectors_per_dept: int = 4):
        self.org = org
        workdays.seed_from_chinese_calendar(range(YEAR, YEAR + 1))
        self.scjgj_items, self.gaj_items = setup_lists(org)
        self.targets = self.make_targets()
        self.inspectors = {
            d.code: [self.make_inspector(d, i) for i in range(inspectors_per_dept)]
            for d in (org.scjgj, org.gaj)
        }

    def make_targets(self) -> list[Target]:
        org = self.org
        targets = Target.objects.bulk_create(
            [
                Target(
                    jurisdiction=org.prefecture,
                    code=f"91652801MA{n:07d}X",
                    code_kind=Target.CodeKind.USCC,
                    name=f"流程测试企业{n}有限公司",
                    object_kind=Target.ObjectKind.COMPANY,
                    region=org.korla,
                    risk_class=cls,
                )
                for n, cls in enumerate((c for c in CLASSES for _ in range(PER_CLASS)), start=1)
            ]
        )
        DirectoryEntry.objects.bulk_create(
            [DirectoryEntry(department=d, target=t) for t in targets for d in (org.scjgj, org.gaj)]
        )
        return targets

    def make_inspector(self, department, i: int) -> Inspector:
        user = User.objects.create_user(
            username=f"{department.code.lower()}_insp{i}",
            password=PASSWORD,
            full_name=f"{department.code}执法人员{i}",
            role=User.Role.INSPECTOR,
            jurisdiction=self.org.prefecture,
            department=department,
        )
        n = Inspector.objects.count() + 1
        return Inspector.objects.create(
            department=department,
            user=user,
            kind="inspector",
            id_number=f"65280119900101{n:04d}",
            name=f"{department.code}执法人员{i}",
            phone=f"1380000{n:04d}",
            certificate_no=f"ZF{n:06d}",
            certificate_valid_from=datetime.date(2025, 1, 1),
            certificate_valid_to=datetime.date(2028, 12, 31),
            regions=pack(["652800"]),
        )

    def accepted_line(self, **overrides):
        """SCJGJ's annual plan with one joint line (GAJ joins), submitted and accepted."""
        org = self.org
        plan = planning.create_plan(user=org.scjgj_admin, department=org.scjgj, year=YEAR)
        data = {
            "plan_name": f"{YEAR}年度双随机抽查计划",
            "task_name": "特种设备与旅馆业联合检查",
            "kind": "joint",
            "scope": {"region": "652801"},
            "items": [self.scjgj_items[1].pk, self.scjgj_items[2].pk],
            "ratios": dict(RATIOS),
            "credit_linked": True,
            "initiator": org.scjgj.pk,
            "joint_departments": [org.gaj.pk],
            "period_start": PERIOD[0],
            "period_end": PERIOD[1],
            "draw_date": datetime.date(YEAR, 11, 30),
        }
        data.update(overrides)
        line = planning.create_line(user=org.scjgj_admin, plan=plan, data=data)
        planning.submit_plan(user=org.scjgj_admin, plan=plan)
        planning.accept_plan(user=org.office, plan=plan)
        line.refresh_from_db()
        return line

    # --- the chain through the services (the refusal tests start from each step) ---------------

    def scheme(self, **overrides) -> dict:
        data = {
            "inspect_start": INSPECT[0],
            "inspect_end": INSPECT[1],
            "batches": 1,
            "targets_per_team": 1,
            "rotation_rule": True,
            "required_specialities": "",
            "scheme_note": "进一次门、查多项事",
            "inspectors_per_team": {"SCJGJ": 1, "GAJ": 1},
        }
        data.update(overrides)
        return data

    def awaiting(self, *, today: datetime.date | None = None, task_overrides=None, **line):
        """The task made from a fresh accepted plan line, initiated (GAJ has not answered)."""
        org = self.org
        task = tasks.create_from_plan_line(user=org.scjgj_admin, line=self.accepted_line(**line))
        if task_overrides:
            data = tasks.plan_line_data(task.plan_line) | task_overrides
            task = tasks.update_task(user=org.scjgj_admin, task=task, data=data)
        return tasks.initiate(user=org.scjgj_admin, task=task, today=today)

    def established(self, **kwargs):
        org = self.org
        task = self.awaiting(**kwargs)
        tasks.respond(
            user=org.gaj_admin,
            task=task,
            accept=True,
            items=[self.gaj_items[0].pk],
            inspectors_per_team=1,
        )
        return tasks.establish(user=org.scjgj_admin, task=task, data=self.scheme())

    def announced(self, task):
        """The task's first draw with both departments' commitments in and announced; returns
        (draw, {department code: secret})."""
        org = self.org
        draw = frozen_draw(org, task)
        keys = {}
        for dept, user in ((org.scjgj, org.scjgj_admin), (org.gaj, org.gaj_admin)):
            keys[dept.code], commitment = secret()
            draws.commit(user=user, draw=draw, department=dept, commitment=commitment)
        return draws.announce(user=org.scjgj_admin, draw=draw), keys

    def revealed(self, draw, keys):
        org = self.org
        for dept, user in ((org.scjgj, org.scjgj_admin), (org.gaj, org.gaj_admin)):
            draws.reveal(user=user, draw=draw, department=dept, value=keys[dept.code])
        draw.refresh_from_db()
        return draw

    def drawn(self, task):
        draw, keys = self.announced(task)
        self.revealed(draw, keys)
        draws.perform(user=self.org.scjgj_admin, draw=draw)
        draw.refresh_from_db()
        return draw

    def staffed(self, task):
        """A performed inspector run (beacon only: the draw's own entropy is tested above)."""
        org = self.org
        run = staffing.create_run(
            user=org.scjgj_admin,
            task=task,
            inputs=staffing.RunInputs(need={}, experts=[], beacon="fc3d.2026330"),
        )
        staffing.enter_beacon(user=org.scjgj_admin, run=run, value="482")
        staffing.perform(user=org.scjgj_admin, run=run)
        run.refresh_from_db()
        return run
