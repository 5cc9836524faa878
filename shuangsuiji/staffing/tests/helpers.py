"""Tasks, drawn target draws and inspectors built directly with the ORM (the jointcheck and draws
services are written at the same time), with a real ssj-draw/1 release so verify-assign --draw
can check the teams against it."""

from __future__ import annotations

import datetime
import secrets

from shuangsuiji.core.models import User
from shuangsuiji.directory.models import Inspector, Target, pack
from shuangsuiji.draws.models import Selection, TargetDraw
from shuangsuiji.jointcheck.models import JointTask, TaskDepartment
from shuangsuiji.protocol import draw as D
from shuangsuiji.staffing import services

START = datetime.date(2026, 12, 1)
END = datetime.date(2026, 12, 20)
_seq = iter(range(1, 10**6))


def make_targets(org, count: int, *, regions=None) -> list[Target]:
    regions = regions or [org.korla, org.luntai]
    targets = []
    for i in range(count):
        n = next(_seq)
        targets.append(
            Target(
                jurisdiction=org.prefecture,
                code=f"91652800MA{n:07d}X",
                code_kind=Target.CodeKind.USCC,
                name=f"测试企业{n}有限公司",
                object_kind=Target.ObjectKind.COMPANY,
                region=regions[i % len(regions)],
            )
        )
    return Target.objects.bulk_create(targets)


def make_task(
    org,
    *,
    targets: int = 4,
    per_team: int = 1,
    need: dict | None = None,
    rotation: bool = True,
    specialities: str = "",
    partners=None,
    state=JointTask.State.DRAWN,
    seq: int | None = None,
) -> JointTask:
    """A task in 已抽取 with a drawn draw of ``targets`` targets (SCJGJ leads, GAJ accepted)."""
    seq = seq or next(_seq)
    task = JointTask.objects.create(
        jurisdiction=org.prefecture,
        code=f"2026-SCJGJ-{seq:04d}",
        year=2026,
        seq=seq,
        name=f"联合抽查任务{seq}",
        lead_department=org.scjgj,
        period_start=datetime.date(2026, 11, 1),
        period_end=datetime.date(2026, 12, 31),
        inspect_start=START,
        inspect_end=END,
        targets_per_team=per_team,
        rotation_rule=rotation,
        required_specialities=specialities,
        state=state,
    )
    need = need or {"SCJGJ": 1, "GAJ": 1}
    TaskDepartment.objects.create(
        task=task,
        department=org.scjgj,
        role=TaskDepartment.Role.LEAD,
        response=TaskDepartment.Response.ACCEPTED,
        inspectors_per_team=need.get("SCJGJ", 1),
    )
    for dept in partners if partners is not None else [org.gaj]:
        TaskDepartment.objects.create(
            task=task,
            department=dept,
            response=TaskDepartment.Response.ACCEPTED,
            inspectors_per_team=need.get(dept.code, 1),
        )
    make_draw(task, make_targets(org, targets))
    return task


def make_draw(task: JointTask, targets: list[Target], number: int = 1) -> TargetDraw:
    frozen = D.freeze(
        task=task.code,
        draw=number,
        population=[(t.code, "ALL") for t in targets],
        allocation="mode=ratio;ALL=10000",
    )
    result = D.perform(frozen, {"server": secrets.token_hex(32)})
    release = D.release(
        result,
        task_name=task.name,
        drawn_at="2026-11-20T10:00:00+08:00",
        lead_department=task.lead_department.code,
        departments=["GAJ", "SCJGJ"],
        announcement_sha256=D.sha256_hex(b"announcement"),
    )
    draw = TargetDraw.objects.create(
        task=task,
        number=number,
        state=TargetDraw.State.DRAWN,
        sealed=False,
        seed=result.seed.hex(),
        record=D.dumps(release),
    )
    by_code = {t.code: t for t in targets}
    Selection.objects.bulk_create(
        [
            Selection(
                draw=draw,
                position=i,
                target=by_code[s.id],
                stratum=s.stratum,
                score=s.score.hex(),
            )
            for i, s in enumerate(result.selected, 1)
        ]
    )
    return draw


def make_inspector(org, department, *, name=None, kind="inspector", regions=None, **fields):
    n = next(_seq)
    data = {
        "department": department,
        "kind": kind,
        "id_number": f"65280119900101{n:04d}",
        "name": name or f"{department.code}人员{n}",
        "phone": f"1380000{n:04d}",
        "certificate_no": f"ZF{n:06d}",
        "certificate_valid_from": datetime.date(2025, 1, 1),
        "certificate_valid_to": datetime.date(2028, 12, 31),
        "regions": pack(regions if regions is not None else ["652800"]),
    }
    data.update(fields)
    return Inspector.objects.create(**data)


def staff(org, per_dept: int = 3) -> dict[str, list[Inspector]]:
    return {d.code: [make_inspector(org, d) for _ in range(per_dept)] for d in (org.scjgj, org.gaj)}


def inputs(**kw) -> services.RunInputs:
    kw.setdefault("need", {})
    kw.setdefault("experts", [])
    kw.setdefault("beacon", "fc3d.2026330")
    return services.RunInputs(**kw)


def performed_run(org, task, **kw):
    """Create, announce (beacon only), enter the beacon value and perform a run."""
    run = services.create_run(user=org.scjgj_admin, task=task, inputs=inputs(**kw))
    services.enter_beacon(user=org.scjgj_admin, run=run, value="482")
    run = services.perform(user=org.scjgj_admin, run=run)
    run.refresh_from_db()
    return run


def head(org, department) -> User:
    found = User.objects.filter(username=f"{department.code.lower()}_head").first()
    if found is not None:
        return found
    return User.objects.create_user(
        username=f"{department.code.lower()}_head",
        password="test-pass-2026",
        role=User.Role.DEPT_HEAD,
        jurisdiction=org.prefecture,
        department=department,
    )
