"""Inspector draws (ssj-assign/1, DRAW-PROTOCOL.md §2): the rules. Views and the ``assign``
command call these functions; each checks who may act, locks the run row, writes the audit trail
and publishes to the public log in the same transaction as the change.

Life of a run (docs/staffing.md):

1. :func:`create_run` — the lead department starts run N+1 of the task's drawn target draw with its
   inputs (need per team per department, expert opt-ins, the entropy plan). Earlier runs are
   superseded. The three files and the left-out file are frozen to disk
   (``SHUANGSUIJI_DATA/staffing/<task>/<draw>/<run>/``; big draws in a background job).
2. :func:`commit` — each party department commits; when the files are frozen and every commitment
   is in, the run is announced (:func:`_announce`: hashes and commitments, before any value).
3. :func:`reveal` / :func:`enter_beacon` — the values arrive, only after the announcement.
4. :func:`perform` — the lead performs the run: teams, members, shortfalls, the record, the
   release entry. A shortfall blocks :func:`dispatch` until a new run resolves it.
5. :func:`request_replacement` → :func:`approve_replacement` / :func:`refuse_replacement` (§2.4).
"""

from __future__ import annotations

import datetime
import json
import secrets
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Max
from django.dispatch import receiver
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from shuangsuiji.core import audit, jobs, permissions
from shuangsuiji.core.models import Department, Job, User
from shuangsuiji.directory.models import Inspector, Target, unpack
from shuangsuiji.draws import entropy
from shuangsuiji.draws.models import Selection, TargetDraw
from shuangsuiji.draws.signals import release_published
from shuangsuiji.jointcheck import services as task_services
from shuangsuiji.jointcheck.models import JointTask, TaskDepartment
from shuangsuiji.protocol import assign as A
from shuangsuiji.protocol import draw as D
from shuangsuiji.publication import services as log

from . import eligibility as E
from .models import (
    AssignmentRun,
    DeclaredConflict,
    HeldLogEntry,
    Replacement,
    RunEntropy,
    Shortfall,
    Team,
    TeamMember,
)

Role = User.Role
State = AssignmentRun.State
TZ = ZoneInfo(settings.TIME_ZONE)

# Draws with more selected targets than this freeze and perform in a background job.
BACKGROUND_TEAMS = 2000
FILES = ("teams.tsv", "need.tsv", "eligibility.tsv")
LEFT_OUT = "left-out.tsv"
# The parsed files, kept by the freeze for the steps that read them again (not a run file).
PARSED = ".parsed-inputs"
BEACON_SOURCES = {"fc3d": "福彩3D", "ssq": "双色球"}
# Task states reached only after dispatch: a run of such a task counts for the rotation rule.
BEFORE_DISPATCH = (
    JointTask.State.DRAFT,
    JointTask.State.INITIATED,
    JointTask.State.COORDINATING,
    JointTask.State.AWAITING,
    JointTask.State.ESTABLISHED,
    JointTask.State.DRAWN,
    JointTask.State.CANCELLED,
)


class StaffingError(ValueError):
    """A refused staffing operation; the message is for the user, in Chinese."""


def _snapshot(run: AssignmentRun) -> dict:
    """The run's audit snapshot: the published documents by their SHA-256, not their bytes."""
    data = {}
    for f in run._meta.concrete_fields:
        value = getattr(run, f.attname)
        if isinstance(value, bytes | memoryview):
            value = D.sha256_hex(bytes(value))
        data[f.name] = audit._jsonable(value)
    return data


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(TZ).isoformat(timespec="seconds")


# --- who may do what -------------------------------------------------------------------------


task_departments = task_services.task_departments
is_auditor = task_services.is_task_auditor
can_read_run = task_services.can_read_records  # the record, its files and the left-out reasons
is_lead = task_services.can_lead


def sees_every_department(user: User, task: JointTask) -> bool:
    """Auditors (and superusers) read every department's people and the full left-out file;
    a department reads its own."""
    return user.is_superuser or is_auditor(user, task)


def _require_lead(user: User, task: JointTask, what: str) -> None:
    permissions.require(
        is_lead(user, task), f"只有牵头部门（{task.lead_department.name}）可以{what}。"
    )


def _require_department(user: User, department: Department, what: str) -> None:
    permissions.require(
        user.is_superuser
        or (user.role in (Role.DEPT_ADMIN, Role.DEPT_HEAD) and user.department_id == department.pk),
        f"只有{department.name}的管理员或负责人可以{what}。",
    )


# --- reading ---------------------------------------------------------------------------------


def drawn_draw(task: JointTask) -> TargetDraw | None:
    """The target draw to staff now: each performed draw of the task (a supplementary draw adds
    targets) is staffed by its own runs (§2), in draw order — the first one whose latest run is
    not done, else the last one."""
    draws = list(task.draws.filter(state=TargetDraw.State.DRAWN).order_by("number"))
    for draw in draws:
        latest = draw.runs.order_by("-number").first()
        if latest is None or latest.state != State.DONE:
            return draw
    return draws[-1] if draws else None


def current_run(task: JointTask) -> AssignmentRun | None:
    draw = drawn_draw(task)
    if draw is None:
        return None
    return draw.runs.order_by("-number").first()


def run_dir(run: AssignmentRun) -> Path:
    return Path(settings.DATA_DIR) / run.files_dir


def read_file(run: AssignmentRun, name: str) -> bytes:
    if name not in (*FILES, LEFT_OUT) or not run.files_dir:
        raise FileNotFoundError(name)
    return (run_dir(run) / name).read_bytes()


# --- 1. a new run ----------------------------------------------------------------------------


@dataclass
class RunInputs:
    """What the lead chooses for a run (the form and the command fill it)."""

    need: dict[str, int]  # dept code -> inspectors per team; missing: TaskDepartment's value
    experts: list[str]  # dept codes that opt in to their expert library
    beacon: str = ""  # "fc3d.2026130" → entropy item beacon.fc3d.2026130
    parties: bool = False  # each task department commits and reveals
    server: bool = False
    reveals_due: datetime.datetime | None = None
    note: str = ""


def _entropy_plan(inputs: RunInputs, departments: list[str]) -> list[str]:
    names = []
    if inputs.beacon:
        name = f"beacon.{inputs.beacon.strip()}"
        if not D.BEACON_NAME.fullmatch(name):
            raise StaffingError(
                f"公开随机源「{inputs.beacon}」格式不对：应写作「来源.期号」，如 fc3d.2026130"
                "（来源为小写字母、数字、短横线，期号为字母、数字、短横线）。"
            )
        source = name.split(".")[1]
        if source not in entropy.BEACON_SOURCES:
            raise StaffingError(
                f"不支持的公开随机源“{source}”：只能是 {'、'.join(entropy.BEACON_SOURCES)}。"
            )
        names.append(name)
    if inputs.parties:
        names.extend(f"party.{code}" for code in departments)
    if inputs.server:
        names.append("server")
    if not {"beacon", "party"} & {D.entropy_kind(n) for n in names}:
        raise StaffingError(
            "人员抽取至少需要一个公开随机源（如福彩3D 某期）或各部门的承诺—揭示，仅有服务器随机数不够。"
        )
    return sorted(names)


def create_run(
    *, user: User, task: JointTask, inputs: RunInputs, background: bool | None = None, report=None
) -> AssignmentRun:
    """Start the next run of the task's drawn target draw and freeze its files.

    Allowed while the task is 已抽取 and the current run (if any) is not fully staffed: a run with
    a shortfall or one not yet performed is superseded; an announced run whose reveals are overdue
    is abandoned. A done run without shortfall is final (replacements go through approval).
    """
    _require_lead(user, task, "发起执法人员抽取")
    with transaction.atomic():
        task = (
            JointTask.objects.select_for_update().select_related("lead_department").get(pk=task.pk)
        )
        if task.state != JointTask.State.DRAWN:
            raise StaffingError(
                f"任务当前状态为「{task.get_state_display()}」：只有「已抽取」（检查对象名单已锁定）"
                "且尚未派发的任务可以抽取执法人员。"
            )
        draw = drawn_draw(task)
        if draw is None or not draw.seed:
            raise StaffingError("任务还没有完成的检查对象抽取，无法组建检查组。")
        departments = task_departments(task)
        codes = [d.code for d in departments]
        need = {}
        per_team = {
            r.department.code: r.inspectors_per_team
            for r in TaskDepartment.objects.filter(task=task).select_related("department")
        }
        for code in codes:
            value = inputs.need.get(code, per_team.get(code, 1))
            if type(value) is not int or value < 0 or value > 50:
                raise StaffingError(f"{code} 每组派出人数应为 0 到 50 的整数。")
            need[code] = value
        unknown = (set(inputs.need) | set(inputs.experts)) - set(codes)
        if unknown:
            raise StaffingError(f"部门 {'、'.join(sorted(unknown))} 不是本任务的参与部门。")
        if sum(need.values()) < 2:
            raise StaffingError("每个检查组各部门派出人数合计至少为 2 人（两名持证执法人员到场）。")
        names = _entropy_plan(inputs, codes)
        reveals_due = inputs.reveals_due
        if inputs.parties:
            reveals_due = reveals_due or timezone.now() + datetime.timedelta(days=2)
            if reveals_due <= timezone.now():
                raise StaffingError("揭示截止时间必须晚于现在。")
        else:
            reveals_due = None
        previous = draw.runs.select_for_update().order_by("-number").first()
        if inputs.experts:
            # The expert library resolves a shortfall; it is not a first choice (DOMAIN.md).
            short = set()
            if previous is not None and previous.state == State.SHORTFALL:
                short = set(
                    Shortfall.objects.filter(team__run=previous).values_list(
                        "department__code", flat=True
                    )
                )
            refused = sorted(set(inputs.experts) - short)
            if refused:
                raise StaffingError(
                    f"专家库只用于解决人员不足：{'、'.join(refused)} 在上一轮没有人员不足，"
                    "不能启用专家库。"
                )
        if previous is not None:
            _close_previous(user, previous)
        number = (draw.runs.aggregate(n=Max("number"))["n"] or 0) + 1
        run = AssignmentRun.objects.create(
            draw=draw,
            number=number,
            state=State.COMMITTING,
            note=inputs.note[:500],
            files_dir=f"staffing/{task.code}/{draw.number}/{number}",
            reveals_due=reveals_due,
            settings={"need": need, "experts": sorted(set(inputs.experts)), "entropy": names},
            created_by=user,
        )
        by_code = {d.code: d for d in departments}
        for name in names:
            kind = D.entropy_kind(name)
            item = RunEntropy(run=run, name=name)
            if kind == "party":
                item.department = by_code[name[6:]]
            elif kind == "server":
                item.value = secrets.token_hex(32)
                item.commitment = D.commitment(item.value)
                item.committed_at = timezone.now()
            item.save()
        audit.record(
            user,
            "create",
            run,
            after=_snapshot(run),
            note=f"发起第 {number} 轮执法人员抽取"
            + (f"（{inputs.note[:200]}）" if inputs.note else ""),
            department=task.lead_department,
        )
        big = draw.selections.count() > BACKGROUND_TEAMS if background is None else background
        if big:
            job = jobs.enqueue(
                "staffing.freeze",
                {"run": run.pk},
                user=user,
                department=task.lead_department,
                total=draw.selections.count(),
            )
            run.job = job
            run.save(update_fields=["job", "updated_at"])
    if not big:
        try:
            freeze(run_id=run.pk, user=user, report=report)
        except (D.ProtocolError, OSError) as exc:
            # The run stays 待承诺 without files; nothing was published. A new run replaces it.
            raise StaffingError(
                f"第 {run.number} 轮的输入文件未能冻结（{exc}），未公告任何内容；请排除问题后重新发起。"
            ) from exc
        run.refresh_from_db()
    return run


def _close_previous(user: User, previous: AssignmentRun) -> None:
    if previous.state == State.DONE:
        raise StaffingError(
            f"第 {previous.number} 轮已完成且人员齐备，不能重新抽取；个别人员需要更换时，请提出更换申请并由部门负责人审批。"
        )
    if previous.state in (State.SUPERSEDED, State.ABANDONED):
        return
    if previous.state == State.ANNOUNCED:
        missing = previous.entropy.filter(value="").exclude(name__startswith="beacon.")
        overdue = previous.reveals_due is not None and previous.reveals_due < timezone.now()
        if not (missing.exists() and overdue):
            raise StaffingError(
                f"第 {previous.number} 轮已公告，须按公告完成抽取；只有揭示截止时间已过仍有部门未揭示时，才能作废并重新发起。"
            )
        to = State.ABANDONED
    else:  # committing (nothing published yet) or shortfall
        to = State.SUPERSEDED
    before = _snapshot(previous)
    previous.state = to
    previous.save(update_fields=["state", "updated_at"])
    audit.record(
        user,
        "update",
        previous,
        after=_snapshot(previous),
        before=before,
        note=f"第 {previous.number} 轮{State(to).label}",
        department=previous.draw.task.lead_department,
    )


def _people(department: Department) -> list[E.Person]:
    rows = Inspector.objects.filter(department=department).values_list(
        "pk",
        "kind",
        "active",
        "available",
        "certificate_no",
        "certificate_valid_from",
        "certificate_valid_to",
        "regions",
        "specialities",
    )
    return [
        E.Person(
            pk, department.code, kind, active, available, cert, vf, vt, unpack(regs), unpack(sp)
        )
        for pk, kind, active, available, cert, vf, vt, regs, sp in rows.iterator(chunk_size=5000)
    ]


def _rotation(task: JointTask, draw: TargetDraw) -> dict[str, set[int]]:
    """target code -> members of the team that last inspected it (a dispatched task's run)."""
    if not task.rotation_rule:
        return {}
    targets = Selection.objects.filter(draw=draw).values("target_id")
    through = Team.targets.through
    rows = (
        through.objects.filter(target_id__in=targets, team__run__state=State.DONE)
        .exclude(team__run__draw__task__state__in=BEFORE_DISPATCH)
        .exclude(team__run__draw__task=task)
        .values_list("target__code", "team_id", "team__run__performed_at")
    )
    last: dict[str, tuple] = {}
    for code, team_id, at in rows:
        if code not in last or (at, team_id) > last[code]:
            last[code] = (at, team_id)
    if not last:
        return {}
    members = defaultdict(set)
    for team_id, inspector_id in TeamMember.objects.filter(
        team_id__in={t for _, t in last.values()}
    ).values_list("team_id", "inspector_id"):
        members[team_id].add(inspector_id)
    return {code: members[team_id] for code, (_, team_id) in last.items()}


def freeze(*, run_id: int, user: User | None = None, report=None) -> AssignmentRun:
    """Form the teams, compute the need and eligibility, write the files, announce if ready.

    Safe to re-run (the background job may be restarted): it rewrites the same files from the
    same inputs, and does nothing once the run's hashes are set."""
    report = report or (lambda *a, **k: None)
    run = AssignmentRun.objects.select_related("draw__task__lead_department").get(pk=run_id)
    if run.teams_sha256:
        return run
    draw, task = run.draw, run.draw.task
    departments = {d.code: d for d in task_departments(task)}
    report(0, message="读取锁定名单")
    order, region_of = [], {}
    home = task.jurisdiction.code
    for code, region in (
        Selection.objects.filter(draw=draw)
        .order_by("position")
        .values_list("target__code", "target__region__code")
        .iterator(chunk_size=10000)
    ):
        order.append(code)
        region_of[code] = region or home
    pairs = A.form_teams(order, per_team=task.targets_per_team, region=region_of)
    teams: dict[str, list[str]] = defaultdict(list)
    for team, target in pairs:
        teams[team].append(target)
    report(len(order) // 4, message="计算执法人员资格")
    recused: dict[str, set[int]] = defaultdict(set)
    for target_code, inspector_id in DeclaredConflict.objects.filter(
        active=True,
        target_id__in=Selection.objects.filter(draw=draw).values("target_id"),
        inspector__department__in=departments.values(),
    ).values_list("target__code", "inspector_id"):
        recused[target_code].add(inspector_id)
    start = task.inspect_start or task.period_start
    end = task.inspect_end or task.period_end
    result = E.compute(
        teams=teams,
        target_region=region_of,
        people={code: _people(d) for code, d in departments.items()},
        home_region={code: d.jurisdiction.code for code, d in departments.items()},
        start=start,
        end=end,
        specialities=E.split_values(task.required_specialities),
        experts=run.settings.get("experts", []),
        recused=recused,
        rotation=_rotation(task, draw),
    )
    report(len(order) // 2, message="写入文件")
    need = run.settings["need"]
    files = {
        "teams.tsv": A.teams_file(pairs),
        "need.tsv": A.need_file((t, d, need[d]) for t in teams for d in departments),
        "eligibility.tsv": E.eligibility_bytes(result.eligible),
        LEFT_OUT: result.left_out_bytes(),
    }
    # The files must be canonical (§2.1): parse them as verify-assign will.
    inputs = A.parse_files(*(files[n] for n in FILES), sorted(departments))
    write_files(run_dir(run), files, inputs)
    with transaction.atomic():
        locked = AssignmentRun.objects.select_for_update().get(pk=run.pk)
        if locked.teams_sha256:
            return locked
        before = _snapshot(locked)
        locked.teams_sha256 = inputs.teams_sha256
        locked.need_sha256 = inputs.need_sha256
        locked.eligibility_sha256 = inputs.eligibility_sha256
        locked.left_out_sha256 = D.sha256_hex(files[LEFT_OUT])
        locked.teams_count = len(inputs.teams)
        locked.frozen_at = timezone.now()
        locked.save()
        audit.record(
            user,
            "update",
            locked,
            after=_snapshot(locked),
            before=before,
            note=f"冻结第 {locked.number} 轮的检查组、需要人数和资格文件（{len(inputs.teams)} 个检查组）",
            department=task.lead_department,
        )
        _maybe_announce(locked, user, inputs)
    report(len(order), message="完成", force=True)
    return locked


@jobs.handler("staffing.freeze")
def _freeze_job(job: Job, report) -> dict:
    run = freeze(run_id=job.params["run"], user=job.created_by, report=report)
    return {"run": run.pk, "teams": run.teams_count}


# --- 2. commitments and the announcement -----------------------------------------------------


def _locked_run(run: AssignmentRun | int) -> AssignmentRun:
    pk = run.pk if isinstance(run, AssignmentRun) else run
    return (
        AssignmentRun.objects.select_for_update()
        .select_related("draw__task__lead_department", "draw__task__jurisdiction")
        .get(pk=pk)
    )


def _party_item(run: AssignmentRun, user: User) -> RunEntropy:
    item = (
        run.entropy.filter(name=f"party.{user.department.code}").first()
        if user.department_id
        else None
    )
    if item is None:
        raise PermissionDenied("本轮抽取没有您所在部门的承诺—揭示熵项。")
    _require_department(user, item.department, "提交本部门的承诺和揭示值")
    return item


def commit(*, user: User, run: AssignmentRun, commitment: str) -> AssignmentRun:
    """A party department's commitment (sha256 hex of its secret's 64 hex characters)."""
    commitment = (commitment or "").strip().lower()
    with transaction.atomic():
        run = _locked_run(run)
        item = _party_item(run, user)
        if run.state != State.COMMITTING:
            raise StaffingError(
                f"第 {run.number} 轮当前状态为「{run.get_state_display()}」，不再接受承诺。"
            )
        if item.commitment:
            raise StaffingError("本部门已提交承诺，不能更改。")
        if run.reveals_due and timezone.now() >= run.reveals_due:
            raise StaffingError(
                "本轮的揭示截止时间已过，不能再承诺；请牵头部门重新发起一轮抽取（本轮尚未公告）。"
            )
        if not D.HEX64.fullmatch(commitment):
            raise StaffingError("承诺值必须是 64 个十六进制字符（SHA-256）。")
        item.commitment = commitment
        item.committed_by = user
        item.committed_at = timezone.now()
        item.save()
        audit.record(
            user,
            "update",
            run,
            after=_snapshot(run),
            note=f"{item.name} 提交承诺",
            department=item.department,
        )
        _maybe_announce(run, user)
    return run


def _maybe_announce(run: AssignmentRun, user: User | None, inputs: A.Inputs | None = None) -> None:
    """Announce once the files are frozen and every commitment is in (called under the lock)."""
    if run.state != State.COMMITTING or not run.teams_sha256:
        return
    items = list(run.entropy.all())
    if any(D.entropy_kind(i.name) != "beacon" and not i.commitment for i in items):
        return
    task = run.draw.task
    inputs = inputs or _inputs(run)
    now = timezone.now()
    document = A.announcement(
        inputs,
        task=task.code,
        draw=run.draw.number,
        run_number=run.number,
        lead_department=task.lead_department.code,
        announced_at=_iso(now),
        entropy={
            i.name: None if D.entropy_kind(i.name) == "beacon" else i.commitment for i in items
        },
        reveals_due=_iso(run.reveals_due) if run.reveals_due else None,
    )
    data = D.dumps(document)
    index = _publish(run, data)
    before = _snapshot(run)
    run.announcement = data
    run.announcement_index = index
    run.announced_at = now
    run.state = State.ANNOUNCED
    run.save()
    (run_dir(run) / "announcement.json").write_bytes(data)
    audit.record(
        user,
        "publish",
        run,
        after=_snapshot(run),
        before=before,
        note=f"公告第 {run.number} 轮执法人员抽取（{_where(index)}）",
        department=task.lead_department,
    )


def _held(run: AssignmentRun) -> bool:
    """An unannounced draw not yet released: the run's log documents wait (HeldLogEntry)."""
    return run.draw.release_mode == "after-inspection" and run.draw.released_at is None


def _publish(run: AssignmentRun, data: bytes, replacement=None) -> int | None:
    """Append ``data`` to the public log now, or hold it until the draw's release; the index."""
    if _held(run):
        HeldLogEntry.objects.create(run=run, document=data, replacement=replacement)
        return None
    return log.append(data).index


def _where(index: int | None) -> str:
    return (
        f"公开日志第 {index} 条"
        if index is not None
        else "不预先告知：检查名单公开时再写入公开日志"
    )


@receiver(release_published)
def publish_held_entries(sender, draw: TargetDraw, **kwargs) -> None:
    """The draw's release is out: append its runs' held documents in the order they were made."""
    for held in HeldLogEntry.objects.filter(run__draw=draw).select_related("run", "replacement"):
        index = log.append(bytes(held.document)).index
        run = held.run
        stage = json.loads(bytes(held.document))["stage"]
        if stage == "announcement":
            AssignmentRun.objects.filter(pk=run.pk).update(announcement_index=index)
        elif stage == "release":
            AssignmentRun.objects.filter(pk=run.pk).update(release_index=index)
        elif held.replacement_id:
            Replacement.objects.filter(pk=held.replacement_id).update(log_index=index)
        held.delete()


def write_files(folder: Path, files: dict[str, bytes], inputs: A.Inputs) -> None:
    """The freeze's files, and ``inputs`` (their parse) sealed beside them for read_inputs."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in {**files, PARSED: _sealed(A.pack_inputs(inputs))}.items():
        tmp = folder / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(folder / name)


def _sealed(packed: bytes) -> bytes:
    """The parsed files with a MAC under the site's secret key: a copy changed by anyone else
    is never unpacked (marshal is not made to read bytes from strangers)."""
    return _mac(packed) + packed


def _mac(data: bytes) -> bytes:
    return salted_hmac("staffing.parsed-inputs", data, algorithm="sha256").hexdigest().encode()


def read_inputs(folder: Path, departments: list[str]) -> A.Inputs:
    """The three files in ``folder``, parsed. The freeze checked them (§2.1) and kept their parse
    sealed beside them: that copy serves when intact and made from files with exactly these
    hashes, saving a parse of up to 16 M lines; otherwise they are parsed and checked again.
    (verify-assign, the auditors' replay, always parses and checks.)"""
    data = [(folder / name).read_bytes() for name in FILES]
    try:
        sealed = (folder / PARSED).read_bytes()
    except OSError:
        sealed = b""
    mac, packed = sealed[:64], sealed[64:]
    if sealed and constant_time_compare(mac, _mac(packed)):
        inputs = A.unpack_inputs(packed, *data, departments)
        if inputs is not None:
            return inputs
    return A.parse_files(*data, departments)


def _inputs(run: AssignmentRun) -> A.Inputs:
    """The run's files, parsed; they must still have the hashes registered at the freeze."""
    if not run.files_dir:
        raise FileNotFoundError(FILES[0])
    inputs = read_inputs(run_dir(run), sorted(run.settings["need"]))
    if (inputs.teams_sha256, inputs.need_sha256, inputs.eligibility_sha256) != (
        run.teams_sha256,
        run.need_sha256,
        run.eligibility_sha256,
    ):
        raise StaffingError(
            f"第 {run.number} 轮的冻结文件与登记的哈希不符，可能被改动，请联系管理员。"
        )
    return inputs


# --- 3. values -------------------------------------------------------------------------------


def reveal(*, user: User, run: AssignmentRun, value: str) -> AssignmentRun:
    """A party's reveal: accepted only after the announcement and only if it matches."""
    value = (value or "").strip()
    with transaction.atomic():
        run = _locked_run(run)
        item = _party_item(run, user)
        if run.state != State.ANNOUNCED:
            raise StaffingError(
                f"只有公告之后、抽取之前才能揭示；本轮当前状态为「{run.get_state_display()}」。"
            )
        if item.value:
            raise StaffingError("本部门已揭示，不能更改。")
        if run.reveals_due and timezone.now() > run.reveals_due:
            raise StaffingError("揭示截止时间已过，本轮不能再揭示；请牵头部门重新发起一轮抽取。")
        problem, value = entropy.open_commitment(item.commitment, value)
        if problem:
            raise StaffingError(problem)
        _store_value(user, run, item, value, f"{item.name} 揭示", item.department)
    return run


def _store_value(user, run, item: RunEntropy, value: str, note: str, department) -> None:
    """Keep an entropy value that passed its checks, and audit the run (under the run's lock)."""
    item.value = value
    item.revealed_by = user
    item.revealed_at = timezone.now()
    item.save()
    audit.record(user, "update", run, after=_snapshot(run), note=note, department=department)


def enter_beacon(*, user: User, run: AssignmentRun, value: str, name: str = "") -> AssignmentRun:
    """The lead enters the announced beacon issue's value once it is published."""
    task = run.draw.task
    _require_lead(user, task, "录入公开随机源的开奖值")
    value = (value or "").strip(" ")
    with transaction.atomic():
        run = _locked_run(run)
        beacons = [i for i in run.entropy.all() if i.name.startswith("beacon.")]
        if name:
            beacons = [i for i in beacons if i.name == name]
        if not beacons:
            raise StaffingError("本轮没有公开随机源熵项。")
        if len(beacons) > 1:
            raise StaffingError("本轮有多个公开随机源，请指明是哪一个。")
        item = beacons[0]
        if run.state != State.ANNOUNCED:
            raise StaffingError(
                f"公开随机源的值只能在公告之后、抽取之前录入；本轮当前状态为「{run.get_state_display()}」。"
            )
        if item.value:
            raise StaffingError(f"{item.name} 的值已录入，不能更改。")
        problem = entropy.beacon_problem(item.name.split(".")[1], value)
        if problem:
            raise StaffingError(problem)
        _store_value(user, run, item, value, f"录入 {item.name} = {value}", task.lead_department)
    return run


# --- 4. perform ------------------------------------------------------------------------------


def _replacement_requests(run: AssignmentRun, extra: Replacement | None = None) -> list[dict]:
    rows = list(
        run.replacements.filter(state=Replacement.State.APPROVED, index__isnull=False)
        .select_related("team", "department", "out", "decided_by")
        .order_by("index")
    )
    if extra is not None:
        rows.append(extra)
    return [
        {
            "team": r.team.code,
            "dept": r.department.code,
            "out": E.inspector_code(r.department.code, r.out_id),
            "reason": f"{r.get_reason_display()}：{r.detail}",
            "approved_by": r.decided_by.username if r.decided_by else "",
            "at": _iso(r.decided_at),
        }
        for r in rows
    ]


def _record_bytes(run: AssignmentRun, assignment: A.Assignment) -> tuple[dict, bytes]:
    doc = A.record(assignment, announcement_sha256=D.sha256_hex(bytes(run.announcement)))
    return doc, D.dumps(doc)


def _assignment(run: AssignmentRun, requests: list[dict]) -> A.Assignment:
    task = run.draw.task
    return A.perform(
        _inputs(run),
        task=task.code,
        draw=run.draw.number,
        run_number=run.number,
        lead_department=task.lead_department.code,
        draw_seed=run.draw.seed,
        entropy={i.name: i.value for i in run.entropy.all()},
        replacement_requests=requests,
    )


def perform(
    *, user: User, run: AssignmentRun, background: bool | None = None, report=None
) -> AssignmentRun:
    """Perform the announced run once every value is in (big runs go to a background job)."""
    task = run.draw.task
    _require_lead(user, task, "执行执法人员抽取")
    with transaction.atomic():
        run = _locked_run(run)
        _check_performable(run)
        big = run.teams_count > BACKGROUND_TEAMS if background is None else background
        if big:
            if run.job_id and run.job.status in (Job.Status.QUEUED, Job.Status.RUNNING):
                raise StaffingError("本轮抽取已在后台进行，请稍候查看进度。")
            run.job = jobs.enqueue(
                "staffing.perform",
                {"run": run.pk},
                user=user,
                department=task.lead_department,
                total=run.teams_count,
            )
            run.save(update_fields=["job", "updated_at"])
            return run
        _perform_locked(run, user, report)
    return run


def _check_performable(run: AssignmentRun) -> None:
    if run.state != State.ANNOUNCED:
        raise StaffingError(
            f"第 {run.number} 轮当前状态为「{run.get_state_display()}」：只有已公告、尚未抽取的轮次可以执行抽取。"
        )
    if run.draw.task.state != JointTask.State.DRAWN:
        raise StaffingError("任务已不在「已抽取」状态，不能再执行人员抽取。")
    missing = [i.name for i in run.entropy.all() if not i.value]
    if missing:
        raise StaffingError(f"还缺少以下熵值，不能抽取：{'、'.join(missing)}。")


def _insert(model, columns: list[str], rows) -> None:
    """Insert many plain rows fast: COPY on PostgreSQL, executemany elsewhere (Django's
    bulk_create spends most of a 150,000-member run compiling SQL)."""
    table = model._meta.db_table
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(
                f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {connection.ops.quote_name(table)} ({quoted}) VALUES ({marks})",
                list(rows),
            )


def _perform_locked(run: AssignmentRun, user: User | None, report=None) -> None:
    report = report or (lambda *a, **k: None)
    task = run.draw.task
    assignment = _assignment(run, [])
    report(run.teams_count // 3, message="写入检查组")
    departments = {d.code: d for d in task_departments(task)}
    targets = dict(
        Target.objects.filter(pk__in=run.draw.selections.values("target_id")).values_list(
            "code", "pk"
        )
    )
    leader_of = {
        code: E.inspector_pk(value["leader"]) if value["leader"] else None
        for code, value in assignment.teams.items()
    }
    teams = Team.objects.bulk_create(
        [Team(run=run, code=code, leader_id=leader_of[code]) for code in assignment.inputs.teams],
        batch_size=2000,
    )
    if any(t.pk is None for t in teams):  # backends without RETURNING
        teams = list(Team.objects.filter(run=run))
    team_pk = {t.code: t.pk for t in teams}
    through = Team.targets.through
    report(run.teams_count // 2, message="写入检查组成员")
    _insert(
        through,
        ["team_id", "target_id"],
        (
            (team_pk[team], targets[code])
            for team, codes in assignment.inputs.targets.items()
            for code in codes
        ),
    )
    dept_pk = {code: d.pk for code, d in departments.items()}
    _insert(
        TeamMember,
        ["team_id", "department_id", "position", "inspector_id"],
        (
            (team_pk[team], dept_pk[dept], position, E.inspector_pk(code))
            for team, value in assignment.teams.items()
            for dept, codes in value["members"].items()
            for position, code in enumerate(codes)
        ),
    )
    shortfalls = [
        (
            team_pk[entry.team],
            dept_pk[entry.dept],
            assignment.inputs.need[(entry.team, entry.dept)],
            entry.missing,
        )
        for entry in assignment.shortfalls
    ]
    _insert(Shortfall, ["team_id", "department_id", "need", "missing"], shortfalls)
    doc, data = _record_bytes(run, assignment)
    index = _publish(run, D.dumps(A.release_entry(doc, data)))
    before = _snapshot(run)
    run.assign_seed = assignment.assign_seed.hex()
    run.record = data
    run.performed_at = timezone.now()
    run.release_index = index
    run.shortfall_count = len(shortfalls)
    run.state = State.SHORTFALL if shortfalls else State.DONE
    run.save()
    audit.record(
        user,
        "update",
        run,
        after=_snapshot(run),
        before=before,
        note=(
            f"执行第 {run.number} 轮执法人员抽取：{run.teams_count} 个检查组"
            + (
                f"，{len(shortfalls)} 个检查组与部门人员不足，派发受阻"
                if shortfalls
                else "，人员齐备"
            )
            + f"（{_where(index)}）"
        ),
        department=task.lead_department,
    )


@jobs.handler("staffing.perform")
def _perform_job(job: Job, report) -> dict:
    with transaction.atomic():
        run = _locked_run(job.params["run"])
        if run.state in (State.DONE, State.SHORTFALL):  # a re-run after it committed
            return {"run": run.pk, "state": run.state}
        _check_performable(run)
        _perform_locked(run, job.created_by, report)
    return {"run": run.pk, "state": run.state}


# --- 5. dispatch -----------------------------------------------------------------------------


def dispatch(*, user: User, task: JointTask) -> JointTask:
    """派发: the current run is done with every pair staffed → the task becomes 已派发."""
    _require_lead(user, task, "派发任务")
    with transaction.atomic():
        locked = JointTask.objects.select_for_update().get(pk=task.pk)
        run = current_run(locked)
        if run is None:
            raise StaffingError("还没有执法人员抽取，不能派发。")
        run = _locked_run(run)
        if run.state == State.SHORTFALL:
            raise StaffingError(
                f"第 {run.number} 轮有 {run.shortfall_count} 个检查组与部门人员不足，不能派发；"
                "请增加可抽取人员、减少每组人数或启用专家库后重新发起一轮抽取。"
            )
        if run.state != State.DONE:
            raise StaffingError(
                f"第 {run.number} 轮尚未完成（{run.get_state_display()}），不能派发。"
            )
        # drawn_draw() returns the first draw not fully staffed, so run.draw being done means
        # every performed draw of the task is.
        try:
            return task_services.transition(
                user=user,
                task=locked,
                to=JointTask.State.DISPATCHED,
                note=f"派发：第 {run.draw.number} 次抽取第 {run.number} 轮人员抽取，{run.teams_count} 个检查组",
            )
        except task_services.TaskError as exc:
            raise StaffingError(str(exc)) from exc


# --- 6. replacements (§2.4) ------------------------------------------------------------------


def request_replacement(
    *, user: User, run: AssignmentRun, team: str, inspector: Inspector, reason: str, detail: str
) -> Replacement:
    detail = (detail or "").strip()
    if reason not in Replacement.Reason.values:
        raise StaffingError("更换原因须为：岗位调整、工作冲突、健康原因、执法回避 之一。")
    if not detail:
        raise StaffingError("请写明更换的具体说明。")
    _require_department(user, inspector.department, "申请更换本部门的执法人员")
    with transaction.atomic():
        run = _locked_run(run)
        if run.state != State.DONE:
            raise StaffingError("只有已完成（人员齐备）的轮次可以申请更换人员。")
        team_obj = Team.objects.filter(run=run, code=team).first()
        if team_obj is None:
            raise StaffingError(f"本轮没有检查组 {team}。")
        if not TeamMember.objects.filter(team=team_obj, inspector=inspector).exists():
            raise StaffingError(f"{inspector.name} 不是检查组 {team} 的现任成员。")
        if run.replacements.filter(
            team=team_obj, out=inspector, state=Replacement.State.PENDING
        ).exists():
            raise StaffingError("该人员已有待审批的更换申请。")
        item = Replacement.objects.create(
            run=run,
            team=team_obj,
            department=inspector.department,
            out=inspector,
            reason=reason,
            detail=detail[:500],
            requested_by=user,
        )
        audit.record(
            user,
            "create",
            item,
            note=f"申请更换 {team} 的 {E.inspector_code(inspector.department.code, inspector.pk)}（{item.get_reason_display()}）",
            department=inspector.department,
        )
    return item


def _require_head(user: User, item: Replacement) -> None:
    permissions.require(
        user.is_superuser
        or (user.role == Role.DEPT_HEAD and user.department_id == item.department_id),
        f"只有{item.department.name}的部门负责人可以审批本部门的人员更换。",
    )


def approve_replacement(*, user: User, replacement: Replacement, note: str = "") -> Replacement:
    """Apply the replacement per §2.4: the substitute is the first of the pair's order who is
    neither a current member nor replaced out before. With none, the request is refused and
    nothing is recorded in the record or the log."""
    _require_head(user, replacement)
    with transaction.atomic():
        run = _locked_run(replacement.run_id)
        item = (
            Replacement.objects.select_for_update()
            .select_related("team", "department", "out")
            .get(pk=replacement.pk)
        )
        if item.state != Replacement.State.PENDING:
            raise StaffingError(f"该更换申请已{item.get_state_display()}，不能重复审批。")
        if run.state != State.DONE:
            raise StaffingError("该轮已不是有效的已完成轮次，不能更换。")
        refused = ""
        now = timezone.now()
        last = run.replacements.filter(state=Replacement.State.APPROVED).aggregate(
            m=Max("decided_at")
        )["m"]
        item.decided_by, item.decided_at = user, max(now, last) if last else now
        before = audit.snapshot(item)
        try:
            assignment = _assignment(run, _replacement_requests(run, item))
        except D.ProtocolError as exc:
            if "no substitute" in str(exc):
                refused = (
                    f"检查组 {item.team.code} 的 {item.department.name} 没有可替补的执法人员"
                    "（本组该部门的资格名单已用尽），更换被拒绝，不作记录。"
                )
            else:
                refused = f"更换无法执行，被拒绝：{exc}"
            item.state = Replacement.State.REFUSED
            item.decision_note = refused[:500]
            item.save()
            audit.record(
                user, "update", item, before=before, note=refused, department=item.department
            )
        else:
            _apply(user, run, item, assignment, before, note)
    if refused:
        raise StaffingError(refused)
    return item


def _apply(user, run, item, assignment, before, note) -> None:
    applied = assignment.replacements[-1]
    index = len(assignment.replacements) - 1
    doc, data = _record_bytes(run, assignment)
    log_index = _publish(run, D.dumps(A.replacement_entry(doc, index, data)), replacement=item)
    substitute = E.inspector_pk(applied["in"])
    seat = TeamMember.objects.select_for_update().get(
        team=item.team, department=item.department, inspector=item.out
    )
    seat.inspector_id = substitute
    seat.save(update_fields=["inspector"])
    leader = doc["teams"][item.team.code]["leader"]
    Team.objects.filter(pk=item.team_id).update(
        leader_id=E.inspector_pk(leader) if leader else None
    )
    item.state = Replacement.State.APPROVED
    item.substitute_id = substitute
    item.index = index
    item.log_index = log_index
    item.decision_note = note[:500]
    item.save()
    run_before = _snapshot(run)
    run.record = data
    run.save(update_fields=["record", "updated_at"])
    audit.record(
        user,
        "update",
        item,
        before=before,
        note=f"批准更换：{applied['team']}/{applied['dept']} {applied['out']} → {applied['in']}（{_where(log_index)}）",
        department=item.department,
    )
    audit.record(
        user,
        "update",
        run,
        after=_snapshot(run),
        before=run_before,
        note=f"人员抽取记录加入第 {index + 1} 次更换",
        department=run.draw.task.lead_department,
    )


def refuse_replacement(*, user: User, replacement: Replacement, note: str) -> Replacement:
    _require_head(user, replacement)
    note = (note or "").strip()
    if not note:
        raise StaffingError("不批准时请写明理由。")
    with transaction.atomic():
        item = Replacement.objects.select_for_update().get(pk=replacement.pk)
        if item.state != Replacement.State.PENDING:
            raise StaffingError(f"该更换申请已{item.get_state_display()}，不能重复审批。")
        before = audit.snapshot(item)
        item.state = Replacement.State.REFUSED
        item.decided_by, item.decided_at = user, timezone.now()
        item.decision_note = note[:500]
        item.save()
        audit.record(
            user,
            "update",
            item,
            before=before,
            note=f"不批准更换：{note[:200]}",
            department=item.department,
        )
    return item


# --- declared conflicts ----------------------------------------------------------------------


def declare_conflict(
    *, user: User, inspector: Inspector, target: Target, reason: str
) -> DeclaredConflict:
    """Register a conflict of interest (回避): the inspector is left out of the target's teams in
    every run frozen afterwards."""
    reason = (reason or "").strip()
    _require_department(user, inspector.department, "登记本部门执法人员的回避")
    if not reason:
        raise StaffingError("请写明回避原因。")
    with transaction.atomic():
        if DeclaredConflict.objects.filter(
            inspector=inspector, target=target, active=True
        ).exists():
            raise StaffingError("该人员对该检查对象的回避已登记。")
        item = DeclaredConflict.objects.create(
            inspector=inspector, target=target, reason=reason[:300], declared_by=user
        )
        audit.record(
            user,
            "create",
            item,
            note=f"登记回避：{inspector.name} — {target.name}",
            department=inspector.department,
        )
    return item


def withdraw_conflict(*, user: User, conflict: DeclaredConflict) -> DeclaredConflict:
    _require_department(user, conflict.inspector.department, "撤销本部门执法人员的回避登记")
    with transaction.atomic():
        item = DeclaredConflict.objects.select_for_update().get(pk=conflict.pk)
        if not item.active:
            raise StaffingError("该回避登记已撤销。")
        before = audit.snapshot(item)
        item.active = False
        item.save(update_fields=["active"])
        audit.record(
            user,
            "update",
            item,
            before=before,
            note="撤销回避登记",
            department=conflict.inspector.department,
        )
    return item


def record_json(run: AssignmentRun) -> dict:
    return json.loads(bytes(run.record))
