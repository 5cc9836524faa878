"""``shuangsuiji assign ACTION TASKCODE --user USERNAME …``: the inspector draw from the console.

Actions: ``run`` (start a run and freeze its files), ``commit``, ``reveal``, ``beacon``,
``perform``, ``replace`` (request), ``approve`` (or ``--refuse``), ``dispatch``, ``show``.
Every action runs as the named user with that user's permissions. Exit status 0 done, 1 refused
(the Chinese reason on stderr)."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from shuangsuiji.core.models import User
from shuangsuiji.directory.models import Inspector
from shuangsuiji.staffing import eligibility as E
from shuangsuiji.staffing import selectors, services
from shuangsuiji.staffing.models import Replacement, Shortfall, Team

ACTIONS = ("run", "commit", "reveal", "beacon", "perform", "replace", "approve", "dispatch", "show")
REASONS = {label: value for value, label in Replacement.Reason.choices}


class Refused(Exception):
    pass


def _progress(progress, total=None, message=None, force=False):
    if message:
        sys.stderr.write(f"  {message} {progress}\n")


class Command(BaseCommand):
    help = "执法人员抽取（ssj-assign/1）：run|commit|reveal|beacon|perform|replace|approve|dispatch|show 任务编号 --user 用户名"

    def add_arguments(self, parser):
        parser.add_argument("action", choices=ACTIONS)
        parser.add_argument("task", help="任务编号，如 2026-SCJGJ-0007")
        parser.add_argument("--user", required=True, help="以该用户名义操作（按其权限）")
        parser.add_argument(
            "--beacon", default="", help="run：公开随机源 来源.期号，如 fc3d.2026330"
        )
        parser.add_argument("--parties", action="store_true", help="run：各参与部门承诺—揭示")
        parser.add_argument("--server", action="store_true", help="run：加入服务器随机数")
        parser.add_argument("--reveals-due", default="", help="run：揭示截止时间（ISO 8601）")
        parser.add_argument(
            "--need", action="append", default=[], help="run：部门=每组人数，如 GAJ=1（可多次）"
        )
        parser.add_argument(
            "--experts", action="append", default=[], help="run：启用专家库的部门代码（可多次）"
        )
        parser.add_argument(
            "--note", default="", help="run：本轮说明；approve --refuse：不批准理由"
        )
        parser.add_argument("--commitment", default="", help="commit：承诺值（64 位十六进制）")
        parser.add_argument("--value", default="", help="reveal：随机值；beacon：开奖值")
        parser.add_argument("--name", default="", help="beacon：熵项名称（多个公开随机源时）")
        parser.add_argument("--team", default="", help="replace：检查组号，如 T0001")
        parser.add_argument("--inspector", default="", help="replace：人员编码，如 SCJGJ-12")
        parser.add_argument(
            "--reason",
            default="",
            help="replace：岗位调整|工作冲突|健康原因|执法回避（或 post|conflict|health|recusal）",
        )
        parser.add_argument("--detail", default="", help="replace：具体说明")
        parser.add_argument("--id", type=int, default=0, help="approve：更换申请编号")
        parser.add_argument("--refuse", action="store_true", help="approve：不批准")
        parser.add_argument("--export", default="", help="show：把记录和三个文件写入此目录")

    def handle(self, *args, **o):
        try:
            message = self._do(o)
        except (services.StaffingError, PermissionDenied, Http404, Refused) as exc:
            raise CommandError(str(exc) or "您没有权限执行此操作。", returncode=1) from None
        self.stdout.write(message)

    def _do(self, o) -> str:
        user = User.objects.filter(username=o["user"]).first()
        if user is None:
            raise Refused(f"没有用户名为“{o['user']}”的用户。")
        task = selectors.task_for(user, o["task"])
        action = o["action"]
        run = services.current_run(task)
        if action not in ("run", "dispatch", "show") and run is None:
            raise Refused("该任务还没有执法人员抽取，请先 assign run。")
        if action == "run":
            need = {}
            for item in o["need"]:
                dept, _, value = item.partition("=")
                if not value.strip().isdigit():
                    raise Refused(f"--need 应写作 部门代码=人数，如 GAJ=1，收到 {item!r}。")
                need[dept.strip().upper()] = int(value)
            due = None
            if o["reveals_due"]:
                try:
                    due = datetime.datetime.fromisoformat(o["reveals_due"])
                except ValueError:
                    raise Refused(
                        "--reveals-due 应为 ISO 8601 时间，如 2026-12-01T18:00+08:00。"
                    ) from None
                if due.tzinfo is None:
                    raise Refused("--reveals-due 须带时区偏移，如 +08:00。")
            run = services.create_run(
                user=user,
                task=task,
                inputs=services.RunInputs(
                    need=need,
                    experts=[e.upper() for e in o["experts"]],
                    beacon=o["beacon"],
                    parties=o["parties"],
                    server=o["server"],
                    reveals_due=due,
                    note=o["note"],
                ),
                background=False,
                report=_progress,
            )
            return f"已发起第 {run.draw.number}-{run.number} 轮：{run.get_state_display()}，{run.teams_count} 个检查组。"
        if action == "commit":
            run = services.commit(user=user, run=run, commitment=o["commitment"])
            return f"已提交承诺；本轮状态：{run.get_state_display()}。"
        if action == "reveal":
            services.reveal(user=user, run=run, value=o["value"])
            return "已揭示。"
        if action == "beacon":
            services.enter_beacon(user=user, run=run, value=o["value"], name=o["name"])
            return "已录入开奖值。"
        if action == "perform":
            run = services.perform(user=user, run=run, background=False, report=_progress)
            return f"已抽取：{run.get_state_display()}，{run.teams_count} 个检查组" + (
                f"，{run.shortfall_count} 个检查组与部门人员不足（派发受阻）。"
                if run.shortfall_count
                else "。"
            )
        if action == "replace":
            code = o["inspector"]
            inspector = None
            if "-" in code and code.rsplit("-", 1)[1].isdigit():
                inspector = (
                    Inspector.objects.select_related("department")
                    .filter(pk=E.inspector_pk(code), department__code=code.rsplit("-", 1)[0])
                    .first()
                )
            if inspector is None:
                raise Refused(f"没有编码为 {code!r} 的执法人员（编码形如 SCJGJ-12）。")
            item = services.request_replacement(
                user=user,
                run=run,
                team=o["team"],
                inspector=inspector,
                reason=REASONS.get(o["reason"], o["reason"]),
                detail=o["detail"],
            )
            return f"已提交更换申请 {item.pk}，等待部门负责人审批。"
        if action == "approve":
            item = Replacement.objects.filter(pk=o["id"], run__draw__task=task).first()
            if item is None:
                raise Refused(f"该任务没有编号为 {o['id']} 的更换申请。")
            if o["refuse"]:
                services.refuse_replacement(user=user, replacement=item, note=o["note"])
                return "已不批准。"
            item = services.approve_replacement(user=user, replacement=item, note=o["note"])
            return f"已批准：{item.team.code} 由 {item.department.code}-{item.substitute_id} 替补。"
        if action == "dispatch":
            services.dispatch(user=user, task=task)
            return "任务已派发。"
        return self._show(user, task, run, o["export"])

    def _show(self, user, task, run, export) -> str:
        lines = [f"{task.code} {task.name}：{task.get_state_display()}"]
        for r in selectors.runs_of(task):
            lines.append(
                f"  第 {r.draw.number}-{r.number} 轮：{r.get_state_display()}，{r.teams_count} 个检查组"
                + (f"，人员不足 {r.shortfall_count}" if r.shortfall_count else "")
            )
        if run is not None:
            for e in run.entropy.order_by("name"):
                shown = e.value if run.performed_at else ("已提交" if e.value else "待提交")
                lines.append(f"  {e.name}：承诺 {e.commitment or '-'}，值 {shown}")
            for team in (
                Team.objects.filter(run=run)
                .prefetch_related("members__department")
                .order_by("code")[:200]
            ):
                members = "；".join(
                    f"{m.department.code}-{m.inspector_id}"
                    + ("（组长）" if m.inspector_id == team.leader_id else "")
                    for m in team.members.order_by("department__code", "position")
                )
                lines.append(f"  {team.code}：{members}")
            for s in Shortfall.objects.filter(team__run=run).select_related("team", "department"):
                lines.append(
                    f"  人员不足 {s.team.code}/{s.department.code}：需 {s.need}，缺 {s.missing}"
                )
            if export:
                folder = Path(export)
                folder.mkdir(parents=True, exist_ok=True)
                if run.record:
                    (folder / "record.json").write_bytes(bytes(run.record))
                if run.announcement:
                    (folder / "announcement.json").write_bytes(bytes(run.announcement))
                if run.draw.record:
                    (folder / "draw.json").write_bytes(bytes(run.draw.record))
                for name in services.FILES:
                    (folder / name).write_bytes(services.read_file(run, name))
                lines.append(f"已写入 {folder}")
        return "\n".join(lines)
