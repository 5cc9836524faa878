"""``shuangsuiji draw ACTION TASKCODE --user USERNAME …``: the target draw from the command line.

The same services as the pages (draws.services), so the same rules and refusals:

    prepare   [--supplementary 原因]            open the next draw (rules' exclusions pre-decided)
    decide    CODE [--reason 原因代码]           exclude a candidate as suggested, or take it back in
    entropy   [--parties --reveals-due T] [--beacon fc3d:期号:开奖日期] [--server]
    freeze                                      write the canonical files (runs the job here)
    commit    --department CODE --secret-file F  make the secret (or read F), store the commitment
    reveal    --department CODE --secret-file F  reveal the secret kept in F
    beacon    VALUE                              the beacon's drawn value (482; 03 07 … + 09)
    announce | perform | release                 publish the announcement / draw / held release
    abandon   --reason 原因
    show      [--export DIR]                     state, counts, hashes, entropy, selection; with
                                                --export, the files `shuangsuiji verify` takes

``--draw N`` picks a draw (default: the task's open draw, else its last). Exit status: 0 done;
1 refused (the Chinese message says why); 2 bad command line.
"""

from __future__ import annotations

import datetime
import os
import secrets
import shutil
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from shuangsuiji.core import jobs
from shuangsuiji.core.models import Department, Job, User
from shuangsuiji.directory.models import Target
from shuangsuiji.draws import engine, selectors, services
from shuangsuiji.draws.models import TargetDraw
from shuangsuiji.jointcheck.models import JointTask
from shuangsuiji.protocol import draw as D

ACTIONS = (
    "prepare", "decide", "entropy", "freeze", "commit", "reveal", "beacon", "announce", "perform",
    "release", "abandon", "show",
)  # fmt: skip
EXIT_REFUSED = 1
EXIT_USAGE = 2


class Command(BaseCommand):
    help = "检查对象抽取（ssj-draw/1）：准备、冻结、承诺、揭示、公告、抽取、公开、作废、查看"

    def add_arguments(self, parser):
        parser.add_argument("action", choices=ACTIONS)
        parser.add_argument("task", help="任务编号，如 2026-SCJGJ-0007")
        parser.add_argument(
            "value", nargs="?", default="", help="beacon：开奖号码；decide：检查对象编码"
        )
        parser.add_argument("--user", required=True, help="以该用户名义操作")
        parser.add_argument("--draw", type=int, default=0, help="抽取序号（默认：当前这次）")
        parser.add_argument("--department", default="", help="commit/reveal：部门代码")
        parser.add_argument("--secret-file", default="", help="commit/reveal：随机数文件")
        parser.add_argument("--supplementary", default="", help="prepare：补充抽取原因")
        parser.add_argument("--parties", action="store_true", help="entropy：各部门承诺–揭示")
        parser.add_argument("--reveals-due", default="", help="entropy：揭示截止时间（ISO 8601）")
        parser.add_argument("--beacon", default="", help="entropy：来源:期号:开奖日期")
        parser.add_argument("--server", action="store_true", help="entropy：服务器随机数")
        parser.add_argument(
            "--export",
            default="",
            help="show：把公告、抽取记录和规范文件写入该目录，供 verify 核验",
        )
        parser.add_argument(
            "--reason", default="", help="abandon：作废原因；decide：排除原因代码（不填为取消排除）"
        )

    def handle(self, *args, action, task, user, **options):
        actor = User.objects.filter(username=user).first()
        if actor is None:
            raise CommandError(f"没有用户名为“{user}”的用户", returncode=EXIT_USAGE)
        found = JointTask.objects.select_related("lead_department").filter(code=task).first()
        if found is None:
            raise CommandError(f"没有任务编号为“{task}”的任务", returncode=EXIT_USAGE)
        try:
            getattr(self, f"do_{action}")(actor, found, **options)
        except (services.DrawError, PermissionDenied) as exc:
            raise CommandError(
                str(exc) or "您没有权限执行此操作。", returncode=EXIT_REFUSED
            ) from None

    # --- helpers ---------------------------------------------------------------------------------

    def _draw(self, task: JointTask, number: int) -> TargetDraw:
        draws = selectors.task_draws(task)
        if number:
            draw = next((d for d in draws if d.number == number), None)
        else:
            draw = next((d for d in reversed(draws) if d.state in services.OPEN_STATES), None)
            draw = draw or (draws[-1] if draws else None)
        if draw is None:
            raise services.DrawError("本任务还没有抽取（先运行 draw prepare）。")
        return draw

    def _department(self, task: JointTask, code: str) -> Department:
        by_code = {d.code: d for d in services.task_departments(task)}
        if code.upper() not in by_code:
            raise CommandError(
                f"部门“{code}”不是本任务的参与部门（{'、'.join(by_code)}）", returncode=EXIT_USAGE
            )
        return by_code[code.upper()]

    def _run_job(self, job: Job) -> None:
        job.status = Job.Status.RUNNING
        job.attempts += 1
        job.started_at = job.heartbeat_at = timezone.now()
        job.save(update_fields=["status", "attempts", "started_at", "heartbeat_at"])
        job = jobs.run_job(job)
        if job.status != Job.Status.DONE:
            raise services.DrawError((job.result or {}).get("error") or "后台处理失败。")

    # --- actions ---------------------------------------------------------------------------------

    def do_prepare(self, user, task, *, supplementary, **_):
        draw = services.prepare(user=user, task=task, supplementary_reason=supplementary)
        self.stdout.write(f"已准备第 {draw.number} 次抽取。")
        self.do_show(user, task, draw=draw.number)

    def do_decide(self, user, task, *, draw, value, reason, **_):
        found = self._draw(task, draw)
        target = services.candidates(task).filter(code=value.strip()).first()
        if target is None:
            target = Target.objects.filter(
                pk__in=found.exclusions.values("target_id"), code=value.strip()
            ).first()
        if target is None:
            raise CommandError(f"候选对象中没有编码为“{value}”的对象", returncode=EXIT_USAGE)
        services.decide(user=user, draw=found, target=target, reason=reason.strip() or None)
        if reason.strip():
            self.stdout.write(f"已排除 {target.code}（{D.REASONS.get(reason, reason)}）。")
        else:
            self.stdout.write(f"已取消排除 {target.code}。")

    def do_entropy(self, user, task, *, draw, parties, reveals_due, beacon, server, **_):
        plan = services.EntropyPlan(parties=parties, server=server)
        if reveals_due:
            try:
                plan.reveals_due = datetime.datetime.fromisoformat(reveals_due)
            except ValueError:
                raise CommandError(
                    "--reveals-due 应为 ISO 8601 时间", returncode=EXIT_USAGE
                ) from None
            if timezone.is_naive(plan.reveals_due):
                plan.reveals_due = timezone.make_aware(plan.reveals_due)
        if beacon:
            parts = beacon.split(":")
            if len(parts) != 3:
                raise CommandError("--beacon 应为 来源:期号:开奖日期", returncode=EXIT_USAGE)
            plan.beacon_source, plan.beacon_issue = parts[0], parts[1]
            try:
                plan.beacon_date = datetime.date.fromisoformat(parts[2])
            except ValueError:
                raise CommandError("开奖日期应为 年-月-日", returncode=EXIT_USAGE) from None
        items = services.configure_entropy(user=user, draw=self._draw(task, draw), plan=plan)
        self.stdout.write("随机数来源：" + "、".join(i.name for i in items))

    def do_freeze(self, user, task, *, draw, **_):
        job = services.request_freeze(user=user, draw=self._draw(task, draw))
        self._run_job(job)
        found = self._draw(task, draw)
        self.stdout.write(
            f"总体已冻结：{found.population_size} 个对象，population_sha256 {found.population_sha256}"
        )

    def do_commit(self, user, task, *, draw, department, secret_file, **_):
        if not secret_file:
            raise CommandError("请用 --secret-file 指定保存随机数的文件", returncode=EXIT_USAGE)
        path = Path(secret_file)
        if path.exists():
            secret = path.read_text(encoding="ascii").strip()
            if not D.HEX64.fullmatch(secret):
                raise CommandError(f"{path} 中不是 64 个小写十六进制字符", returncode=EXIT_USAGE)
        else:
            secret = secrets.token_hex(32)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secret + "\n")
            self.stdout.write(f"已生成随机数并保存到 {path}：请妥善保管，揭示时要用。")
        dept = self._department(task, department)
        item = services.commit(
            user=user,
            draw=self._draw(task, draw),
            department=dept,
            commitment=D.commitment(secret),
        )
        self.stdout.write(f"{dept.name}已提交承诺 {item.commitment}")

    def do_reveal(self, user, task, *, draw, department, secret_file, **_):
        if not secret_file or not Path(secret_file).is_file():
            raise CommandError(
                "请用 --secret-file 指定承诺时保存随机数的文件", returncode=EXIT_USAGE
            )
        secret = Path(secret_file).read_text(encoding="ascii", errors="replace").strip()
        dept = self._department(task, department)
        services.reveal(user=user, draw=self._draw(task, draw), department=dept, value=secret)
        self.stdout.write(f"{dept.name}已揭示，揭示值与承诺相符。")

    def do_beacon(self, user, task, *, draw, value, **_):
        item = services.enter_beacon(user=user, draw=self._draw(task, draw), value=value)
        self.stdout.write(f"已填写 {item.name} = {item.value}")

    def do_announce(self, user, task, *, draw, **_):
        found = services.announce(user=user, draw=self._draw(task, draw))
        self.stdout.write(f"已公告（公开日志第 {found.announcement_index} 条）。")

    def do_perform(self, user, task, *, draw, **_):
        result = services.perform(user=user, draw=self._draw(task, draw))
        if isinstance(result, Job):
            self._run_job(result)
        found = self._draw(task, draw)
        self.stdout.write(f"抽取完成：抽中 {found.selections.count()} 个对象，名单已锁定。")
        if found.released_at:
            self.stdout.write(f"结果已公开（公开日志第 {found.release_index} 条）。")
        else:
            self.stdout.write("结果在现场检查结束后公开（draw release）。")

    def _export(self, found: TargetDraw, folder: Path) -> None:
        """The documents as published (or held) and the frozen files, byte for byte."""
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, data in (
            ("announcement.json", found.announcement),
            ("release.json", found.record),
        ):
            if data:
                (folder / name).write_bytes(bytes(data))
                written.append(name)
        if found.files_dir:
            source = engine.folder(found.files_dir)
            for name in (engine.POPULATION, engine.EXCLUDED, engine.STRATA):
                if (source / name).is_file():
                    shutil.copyfile(source / name, folder / name)
                    written.append(name)
        self.stdout.write(f"已导出到 {folder}：{'、'.join(written) or '（尚无文件）'}")

    def do_release(self, user, task, *, draw, **_):
        found = services.publish_release(user=user, draw=self._draw(task, draw))
        self.stdout.write(f"结果已公开（公开日志第 {found.release_index} 条）。")

    def do_abandon(self, user, task, *, draw, reason, **_):
        found = services.abandon(user=user, draw=self._draw(task, draw), reason=reason)
        self.stdout.write(f"已作废第 {found.number} 次抽取。")

    def do_show(self, user, task, *, draw, export="", **_):
        found = self._draw(task, draw)
        services.require_see_list(user, task)
        w = self.stdout.write
        if export:
            self._export(found, Path(export))
        w(f"{task.name}（{task.code}）第 {found.number} 次抽取：{found.get_state_display()}")
        w(f"分配方式：{found.allocation}；公开方式：{found.release_mode}")
        if found.state == TargetDraw.State.PREPARING:
            info = services.review(found)
            w(f"候选对象 {info.total} 个，排除后 {info.population} 个，预计抽取 {info.selected} 个")
            for row in info.rows():
                decision = f"已排除（{row['exclusion'].reason}）" if row["exclusion"] else "保留"
                tips = "；".join(f"{r}: {n}" for r, n in row["suggestions"].items())
                w(f"  {row['target'].code} {row['target'].name}：{decision}　{tips}")
        if found.frozen_at:
            w(f"总体 {found.population_size} 个；各层 {found.counts}；应抽 {found.k}")
            w(f"population_sha256 {found.population_sha256}")
            w(f"excluded_sha256   {found.excluded_sha256}")
            if found.sealed:
                w(f"strata_sha256     {found.strata_sha256}")
        for item in found.entropy.select_related("department"):
            state = "已揭示" if item.value else ("已承诺" if item.commitment else "未承诺")
            w(f"  熵项 {item.name}：{state}")
        if found.state == TargetDraw.State.DRAWN:
            w(f"种子 {found.seed}")
            for s in selectors.selections(found):
                w(f"  {s.position:>4} {s.target.code} {s.target.name} {s.stratum}")
