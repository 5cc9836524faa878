"""``shuangsuiji task ACTION [TASKCODE] --user USERNAME …``: the joint task from the command line.

The same services as the pages (jointcheck.services), so the same rules and refusals:

    list      [--year Y] [--state S] [--q 文字]        the tasks the user may see
    show      CODE                                    details, departments, responses, history
    create    --from-line ID | --from-entry ID | --name … --year … --period-start … --period-end …
              [--items CODE,…] [--departments CODE,…] [--ratios A=300;B=500] [--scope region=…]
              [--strata-by risk|region|industry|none] [--mode ratio|count] [--count-total N]
              [--weights C=2;D=4] [--draw-date D] [--directed] [--unannounced] [--complaint-driven]
    initiate  CODE                                    发起
    coordinate CODE --departments CODE,… --items CODE,… [--note …]   (office)
    release   CODE [--note …]                         (office) end coordination → 待响应
    respond   CODE --accept --items CODE,… [--inspectors N] | --decline --reason …
    drop      CODE --department CODE [--reason …]   take off a partner past its response date
    establish CODE --inspect-start D --inspect-end D [--batches N] [--targets-per-team N]
              [--no-rotation] [--specialities …] [--note …] [--inspectors SCJGJ=1,GAJ=1]
    cancel    CODE --reason …

Exit status: 0 done; 1 refused (the Chinese message on stderr says why); 2 bad command line.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from shuangsuiji.core import audit
from shuangsuiji.core.models import User
from shuangsuiji.jointcheck import selectors, services
from shuangsuiji.jointcheck.models import JointTask

ACTIONS = (
    "list", "show", "create", "initiate", "coordinate", "release", "respond", "drop", "establish",
    "cancel",
)  # fmt: skip
EXIT_REFUSED = 1


def _codes(text: str) -> list[str]:
    return [c.strip() for c in (text or "").replace("，", ",").split(",") if c.strip()]


def _pairs(text: str) -> dict[str, str]:
    out = {}
    for part in _codes(text.replace(";", ",").replace("；", ",")):
        key, _, value = part.partition("=")
        out[key.strip().upper()] = value.strip()
    return out


class Command(BaseCommand):
    help = "部门联合抽查任务：列出、查看、新建、发起、协调、响应、确立、取消"

    def add_arguments(self, parser):
        parser.add_argument("action", choices=ACTIONS)
        parser.add_argument("code", nargs="?", default="", help="任务编号，如 2026-SCJGJ-0001")
        parser.add_argument("--user", required=True, help="以该用户名义操作")
        # list
        parser.add_argument("--year", default="", help="list/create：年度")
        parser.add_argument("--state", default="", help="list：状态（draft、awaiting…）")
        parser.add_argument("--q", default="", help="list：名称或编号")
        # create
        parser.add_argument("--from-line", default="", help="create：计划条目编号")
        parser.add_argument("--from-entry", default="", help="create：联合抽查计划条目编号")
        parser.add_argument("--name", default="")
        parser.add_argument("--period-start", default="")
        parser.add_argument("--period-end", default="")
        parser.add_argument("--draw-date", default="")
        parser.add_argument("--items", default="", help="事项编码，逗号分隔")
        parser.add_argument("--departments", default="", help="配合部门代码，逗号分隔")
        parser.add_argument("--department", default="", help="drop：逾期未响应的部门代码")
        parser.add_argument("--ratios", default="", help="A=300;B=500（基点）")
        parser.add_argument("--scope", default="", help="名录库筛选条件，如 region=652801&risk=C")
        parser.add_argument("--strata-by", default="risk")
        parser.add_argument("--mode", default="ratio", help="ratio 或 count")
        parser.add_argument("--count-total", default="")
        parser.add_argument("--weights", default="")
        parser.add_argument("--directed", action="store_true")
        parser.add_argument("--unannounced", action="store_true")
        parser.add_argument("--complaint-driven", action="store_true")
        # respond
        parser.add_argument("--accept", action="store_true")
        parser.add_argument("--decline", action="store_true")
        parser.add_argument("--reason", default="", help="respond --decline / cancel：理由")
        parser.add_argument(
            "--inspectors", default="", help="respond：人数；establish：SCJGJ=1,GAJ=1"
        )
        # establish
        parser.add_argument("--inspect-start", default="")
        parser.add_argument("--inspect-end", default="")
        parser.add_argument("--batches", default="1")
        parser.add_argument("--targets-per-team", default="1")
        parser.add_argument("--no-rotation", action="store_true")
        parser.add_argument("--specialities", default="")
        parser.add_argument("--note", default="")

    def handle(self, *args, action, code, user, **options):
        actor = User.objects.filter(username=user).first()
        if actor is None or not actor.is_active:
            raise CommandError(f"没有用户名为“{user}”的用户", returncode=EXIT_REFUSED)
        try:
            if action in ("list", "create"):
                getattr(self, f"do_{action}")(actor, **options)
                return
            if not code:
                raise CommandError(f"{action} 需要任务编号", returncode=2)
            task = JointTask.objects.filter(code=code.strip()).first()
            task = selectors.get_visible_task(actor, task.pk) if task else None
            if task is None:
                raise services.TaskError(f"没有找到任务“{code}”，或您无权查看。")
            getattr(self, f"do_{action}")(actor, task, **options)
        except services.TaskInvalid as exc:
            raise CommandError("；".join(exc.errors.values()), returncode=EXIT_REFUSED) from None
        except (services.TaskError, PermissionDenied) as exc:
            raise CommandError(
                str(exc) or "您没有权限执行此操作。", returncode=EXIT_REFUSED
            ) from None

    # --- actions ---------------------------------------------------------------------------------

    def do_list(self, user, *, year, state, q, **_):
        filters = selectors.Filters.from_params({"year": year, "state": state, "q": q})
        tasks = selectors.task_list(user, filters)
        today = timezone.localdate()
        for t in tasks:
            overdue = sum(1 for p in t.participants.all() if p.overdue(today))
            flag = f"\t逾期未响应 {overdue}" if overdue else ""
            self.stdout.write(
                f"{t.code}\t{t.get_state_display()}\t{t.lead_department.name}\t{t.name}{flag}"
            )
        self.stdout.write(f"共 {len(tasks)} 个任务。")

    def do_show(self, user, task, **_):
        w = self.stdout.write
        today = timezone.localdate()
        w(f"{task.code}  {task.document_number}  {task.name}")
        w(
            f"状态：{task.get_state_display()}{'（取消原因：' + task.cancel_reason + '）' if task.cancel_reason else ''}"
        )
        w(
            f"牵头部门：{task.lead_department.name}；{'部门内部' if task.is_internal else '部门联合'}抽查"
        )
        w(
            f"计划时间：{task.period_start} 至 {task.period_end}；抽查对象范围：{task.scope or '全部'}"
        )
        w(f"分层：{task.get_strata_by_display()}；{task.get_allocation_mode_display()}："
          f"{task.ratios if task.allocation_mode == 'ratio' else task.count_total}")  # fmt: skip
        w("抽查事项：" + "、".join(f"{i.code} {i.name}" for i in task.items.all()))
        if task.inspect_start:
            w(f"方案：检查 {task.inspect_start} 至 {task.inspect_end}，{task.batches} 批，"
              f"每组 {task.targets_per_team} 个对象")  # fmt: skip
        w("参与部门：")
        for p in task.participants.all():
            flags = []
            if p.overdue(today):
                flags.append("逾期未响应")
            if p.late:
                flags.append("逾期响应")
            due = f"，截止 {p.response_due}" if p.response_due else ""
            response = "牵头" if p.is_lead else p.get_response_display()
            w(f"  {p.department.code} {p.department.name}\t{response}{due}\t每组 "
              f"{p.inspectors_per_team} 人\t{' '.join(flags)}\t{p.response_note}".rstrip())  # fmt: skip
        w("变更记录：")
        for e in audit.history(task)[:50]:
            w(f"  {timezone.localtime(e.at):%Y-%m-%d %H:%M:%S}\t{e.user_name}\t{e.note}")

    def do_create(self, user, **o):
        if o["from_line"]:
            task = services.create_from_plan_line(user=user, line=o["from_line"])
        elif o["from_entry"]:
            task = services.create_from_joint_entry(user=user, entry=o["from_entry"])
        else:
            data = {
                "name": o["name"],
                "year": o["year"],
                "period_start": o["period_start"],
                "period_end": o["period_end"],
                "draw_date": o["draw_date"],
                "items": _codes(o["items"]),
                "departments": _codes(o["departments"]),
                "ratios": o["ratios"],
                "scope": o["scope"],
                "strata_by": o["strata_by"],
                "allocation_mode": o["mode"],
                "count_total": o["count_total"],
                "weights": o["weights"],
                "directed": o["directed"],
                "unannounced": o["unannounced"],
                "complaint_driven": o["complaint_driven"],
            }
            task = services.create_task(user=user, data=data)
        self.stdout.write(f"已创建任务草稿 {task.code}（{task.name}）。")

    def do_initiate(self, user, task, **_):
        task = services.initiate(user=user, task=task)
        self.stdout.write(f"已发起 {task.code}，当前状态：{task.get_state_display()}。")

    def do_coordinate(self, user, task, *, departments, items, note, **_):
        services.coordinate(
            user=user,
            task=task,
            departments=_codes(departments),
            items=_codes(items),
            note=note,
        )
        self.stdout.write(f"已保存 {task.code} 的协调结果。")

    def do_release(self, user, task, *, note, **_):
        task = services.release(user=user, task=task, note=note)
        self.stdout.write(f"{task.code} 协调完毕，已推送配合部门响应。")

    def do_respond(self, user, task, *, accept, decline, items, inspectors, reason, **_):
        if accept == decline:
            raise CommandError(
                "请指定 --accept（确认参加）或 --decline（不参加）之一", returncode=2
            )
        p = services.respond(
            user=user,
            task=task,
            accept=accept,
            items=_codes(items),
            inspectors_per_team=inspectors or 1,
            reason=reason,
        )
        late = "（逾期响应）" if p.late else ""
        self.stdout.write(f"{p.department.name}：{p.get_response_display()}{late}。")

    def do_drop(self, user, task, *, department, reason, **_):
        found = next(
            (p for p in task.participants.all() if p.department.code == department.strip().upper()),
            None,
        )
        if found is None:
            raise services.TaskError(f"部门“{department}”不是本任务的配合部门。")
        p = services.drop_overdue(user=user, task=task, department=found.department, reason=reason)
        self.stdout.write(f"已将逾期未响应的{p.department.name}移出 {task.code}。")

    def do_establish(self, user, task, **o):
        data = {
            "inspect_start": o["inspect_start"],
            "inspect_end": o["inspect_end"],
            "batches": o["batches"],
            "targets_per_team": o["targets_per_team"],
            "rotation_rule": not o["no_rotation"],
            "required_specialities": o["specialities"],
            "scheme_note": o["note"],
            "inspectors_per_team": _pairs(o["inspectors"]),
        }
        task = services.establish(user=user, task=task, data=data)
        self.stdout.write(f"{task.code} 方案已确立。")

    def do_cancel(self, user, task, *, reason, **_):
        task = services.cancel(user=user, task=task, reason=reason)
        self.stdout.write(f"{task.code} 已取消。")
