"""Building blocks for the draws tests: a directory of targets and a joint task in 已确立,
made with the ORM (the jointcheck workflow that gets a task there is tested in its own app)."""

from __future__ import annotations

import datetime
import hashlib
import secrets

import pytest
from django.utils import timezone

from shuangsuiji.core import jobs
from shuangsuiji.directory.models import DirectoryEntry, Target
from shuangsuiji.draws import services
from shuangsuiji.draws.models import TargetDraw
from shuangsuiji.jointcheck.models import JointTask, TaskDepartment

RISKS = "AABBBCCDUU"


@pytest.fixture(autouse=True)
def own_data_folder(settings, tmp_path):
    """Each test's draw files in its own folder (task codes repeat across test databases)."""
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


def uscc(n: int) -> str:
    """An 18-character ID-like code (the draw does not check check digits)."""
    return f"91652801MA{n:07d}X"


def make_targets(org, count: int, *, department=None, start: int = 0, **fields) -> list[Target]:
    department = department or org.scjgj
    targets = Target.objects.bulk_create(
        [
            Target(
                jurisdiction=org.prefecture,
                code=uscc(start + i),
                code_kind=Target.CodeKind.USCC,
                name=f"测试企业{start + i}有限公司",
                object_kind=Target.ObjectKind.COMPANY,
                region=org.korla if i % 3 else org.luntai,
                industry="F5211" if i % 2 else "C1311",
                risk_class=fields.get("risk_class") or RISKS[i % len(RISKS)],
                reg_status=fields.get("reg_status", Target.RegStatus.ACTIVE),
            )
            for i in range(count)
        ]
    )
    DirectoryEntry.objects.bulk_create(
        [DirectoryEntry(department=department, target=t) for t in targets]
    )
    return targets


_seq = [0]


def make_task(org, *, departments=("GAJ",), lead=None, **fields) -> JointTask:
    lead = lead or org.scjgj
    _seq[0] += 1
    defaults = {
        "jurisdiction": org.prefecture,
        "code": f"2026-{lead.code}-{_seq[0]:04d}",
        "year": 2026,
        "seq": _seq[0],
        "name": f"2026年度联合抽查任务{_seq[0]}",
        "lead_department": lead,
        "state": JointTask.State.ESTABLISHED,
        "strata_by": JointTask.StrataBy.RISK,
        "ratios": {"A": 1000, "B": 2000, "C": 5000, "D": 10000, "U": 1000},
        "period_start": datetime.date(2026, 3, 1),
        "period_end": datetime.date(2026, 12, 31),
    }
    defaults.update(fields)
    task = JointTask.objects.create(**defaults)
    TaskDepartment.objects.create(
        task=task,
        department=lead,
        role=TaskDepartment.Role.LEAD,
        response=TaskDepartment.Response.ACCEPTED,
    )
    by_code = {"GAJ": org.gaj, "SCJGJ": org.scjgj}
    for code in departments:
        TaskDepartment.objects.create(
            task=task,
            department=by_code[code],
            role=TaskDepartment.Role.PARTNER,
            response=TaskDepartment.Response.ACCEPTED,
        )
    return task


def secret() -> tuple[str, str]:
    """(reveal, commit) as the browser makes them."""
    value = secrets.token_hex(32)
    return value, hashlib.sha256(value.encode("ascii")).hexdigest()


def parties_plan() -> services.EntropyPlan:
    """Commit–reveal by the task's departments, reveals due tomorrow."""
    return services.EntropyPlan(
        parties=True, reveals_due=timezone.now() + datetime.timedelta(days=1)
    )


def configured_draw(org, task, *, user=None, plan=None) -> TargetDraw:
    """A prepared draw with its entropy plan (default: :func:`parties_plan`)."""
    user = user or org.scjgj_admin
    draw = services.prepare(user=user, task=task)
    services.configure_entropy(user=user, draw=draw, plan=plan or parties_plan())
    return draw


def frozen_draw(org, task, *, user=None, plan=None) -> TargetDraw:
    user = user or org.scjgj_admin
    draw = configured_draw(org, task, user=user, plan=plan)
    services.request_freeze(user=user, draw=draw)
    jobs.run_pending()
    draw.refresh_from_db()
    assert draw.state == TargetDraw.State.COMMITTING, draw.freeze_job.error
    return draw


def drawn(org, task, **kwargs) -> TargetDraw:
    """A draw through commit, announce, reveal and perform with the two departments."""
    draw = frozen_draw(org, task, **kwargs)
    keys = {}
    for dept, user in ((org.scjgj, org.scjgj_admin), (org.gaj, org.gaj_admin)):
        keys[dept.code] = secret()
        services.commit(user=user, draw=draw, department=dept, commitment=keys[dept.code][1])
    services.announce(user=org.scjgj_admin, draw=draw)
    for dept, user in ((org.scjgj, org.scjgj_admin), (org.gaj, org.gaj_admin)):
        services.reveal(user=user, draw=draw, department=dept, value=keys[dept.code][0])
    draw = services.perform(user=org.scjgj_admin, draw=draw)
    return draw
