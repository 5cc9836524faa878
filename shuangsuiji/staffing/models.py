"""Inspector draws (ssj-assign/1, DRAW-PROTOCOL.md §2): numbered runs over a target draw's locked
list, their teams, members, shortfalls and replacements.

A run freezes its three canonical files (teams, need, eligibility; on disk under ``files_dir``),
is announced with their hashes and its entropy commitments, and is performed once the entropy is
in. A run with a shortfall blocks 派发; changing any input means a new run. The record (personal
data) is served to the task's departments and auditors only; the public log gets the
announcement, each replacement and the release (hashes and counts).
"""

from django.db import models

from shuangsuiji.core.models import Department, Job, User
from shuangsuiji.directory.models import Inspector, Target
from shuangsuiji.draws.models import EntropyItem, TargetDraw


class AssignmentRun(models.Model):
    class State(models.TextChoices):
        COMMITTING = "committing", "待承诺"  # files frozen, waiting for commitments
        ANNOUNCED = "announced", "已公告"  # waiting for reveals / the beacon value
        SHORTFALL = "shortfall", "人员不足"  # performed, some pair short: dispatch blocked
        DONE = "done", "已完成"  # performed, fully staffed
        SUPERSEDED = "superseded", "已被新一轮取代"
        ABANDONED = "abandoned", "已作废"

    draw = models.ForeignKey(TargetDraw, on_delete=models.PROTECT, related_name="runs")
    number = models.PositiveIntegerField("轮次")
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.COMMITTING)
    note = models.CharField("本轮说明", max_length=500, blank=True)
    files_dir = models.CharField("文件目录", max_length=300, blank=True)
    teams_sha256 = models.CharField(max_length=64, blank=True)
    need_sha256 = models.CharField(max_length=64, blank=True)
    eligibility_sha256 = models.CharField(max_length=64, blank=True)
    teams_count = models.PositiveIntegerField("检查组数", default=0)
    reveals_due = models.DateTimeField("揭示截止时间", null=True, blank=True)
    announcement = models.BinaryField("公告", null=True, blank=True)
    announcement_index = models.PositiveBigIntegerField(null=True, blank=True)
    announced_at = models.DateTimeField("公告时间", null=True, blank=True)
    assign_seed = models.CharField(max_length=64, blank=True)
    performed_at = models.DateTimeField("抽取时间", null=True, blank=True)
    record = models.BinaryField("人员抽取记录", null=True, blank=True)  # as served to auditors
    shortfall_count = models.PositiveIntegerField("人员不足的组与部门数", default=0)
    release_index = models.PositiveBigIntegerField(null=True, blank=True)
    # The inputs chosen for this run (staffing.services.run_settings): need per team per
    # department, the departments that opted in to their expert library, the entropy plan.
    settings = models.JSONField("本轮参数", default=dict, blank=True)
    frozen_at = models.DateTimeField("文件冻结时间", null=True, blank=True)
    left_out_sha256 = models.CharField(max_length=64, blank=True)
    job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["draw_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["draw", "number"], name="assignment_run_unique")
        ]
        verbose_name = "执法人员抽取"
        verbose_name_plural = "执法人员抽取"

    def __str__(self) -> str:
        return f"{self.draw} 人员抽取第{self.number}轮"


class RunEntropy(EntropyItem):
    run = models.ForeignKey(AssignmentRun, on_delete=models.CASCADE, related_name="entropy")

    class Meta:
        ordering = ["run_id", "name"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="run_entropy_unique")]
        verbose_name = "人员抽取熵项"
        verbose_name_plural = "人员抽取熵项"

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    """A 检查组 of a run (``T0001``), its targets in published order and its leader (组长)."""

    run = models.ForeignKey(AssignmentRun, on_delete=models.CASCADE, related_name="teams")
    code = models.CharField("组号", max_length=12)
    targets = models.ManyToManyField(Target, related_name="+", verbose_name="检查对象")
    leader = models.ForeignKey(
        Inspector, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["run_id", "code"]
        constraints = [models.UniqueConstraint(fields=["run", "code"], name="team_code_unique")]
        verbose_name = "检查组"
        verbose_name_plural = "检查组"

    def __str__(self) -> str:
        return self.code


class TeamMember(models.Model):
    """The current members of a (team, department) pair, in pick order."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField("顺序")
    inspector = models.ForeignKey(Inspector, on_delete=models.PROTECT, related_name="team_seats")

    class Meta:
        ordering = ["team_id", "department_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "department", "position"], name="team_member_position_unique"
            )
        ]
        verbose_name = "检查组成员"
        verbose_name_plural = "检查组成员"

    def __str__(self) -> str:
        return f"{self.team} {self.inspector_id}"


class Shortfall(models.Model):
    """A (team, department) pair of a run with fewer eligible inspectors than it needs (§2.3)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="shortfalls")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    need = models.PositiveSmallIntegerField("需要人数")
    missing = models.PositiveSmallIntegerField("缺少人数")

    class Meta:
        ordering = ["team_id", "department_id"]
        verbose_name = "人员不足"
        verbose_name_plural = "人员不足"

    def __str__(self) -> str:
        return f"{self.team} 缺{self.missing}人"


class Replacement(models.Model):
    """A request to replace a drawn inspector (§2.4): asked by the department, approved (or
    refused) by its head; applied only when approved, then logged."""

    class Reason(models.TextChoices):
        POST = "post", "岗位调整"
        CONFLICT = "conflict", "工作冲突"
        HEALTH = "health", "健康原因"
        RECUSAL = "recusal", "执法回避"

    class State(models.TextChoices):
        PENDING = "pending", "待审批"
        APPROVED = "approved", "已批准"
        REFUSED = "refused", "未批准"

    run = models.ForeignKey(AssignmentRun, on_delete=models.CASCADE, related_name="replacements")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    out = models.ForeignKey(Inspector, on_delete=models.PROTECT, related_name="+")
    substitute = models.ForeignKey(
        Inspector, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField("更换原因", max_length=10, choices=Reason.choices)
    detail = models.CharField("具体说明", max_length=500)
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.PENDING)
    index = models.PositiveIntegerField(
        "序号", null=True, blank=True
    )  # in the record, once applied
    log_index = models.PositiveBigIntegerField(null=True, blank=True)
    requested_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=500, blank=True)

    class Meta:
        ordering = ["run_id", "requested_at"]
        verbose_name = "执法人员更换"
        verbose_name_plural = "执法人员更换"

    def __str__(self) -> str:
        return f"{self.team} 更换 {self.out_id}"


class DeclaredConflict(models.Model):
    """A declared conflict of interest (回避, 行政处罚法 §43) between an inspector and a target: the
    inspector is left out of every team that inspects the target, with reason ``recusal``."""

    inspector = models.ForeignKey(Inspector, on_delete=models.CASCADE, related_name="conflicts")
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField("回避原因", max_length=300)
    declared_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    declared_at = models.DateTimeField("登记时间", auto_now_add=True)
    active = models.BooleanField("有效", default=True)

    class Meta:
        ordering = ["-declared_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["inspector", "target"],
                condition=models.Q(active=True),
                name="declared_conflict_active_unique",
            )
        ]
        verbose_name = "回避登记"
        verbose_name_plural = "回避登记"

    def __str__(self) -> str:
        return f"{self.inspector_id} 回避 {self.target_id}"


class HeldLogEntry(models.Model):
    """A public-log document of a run whose target draw is unannounced and not yet released.

    The assignment announcement carries ``teams_sha256``, an unsalted hash of the selected codes
    in draw order: published at once, it would let anyone who can guess the candidates confirm a
    guess of the list before the on-site checks (DRAW-PROTOCOL.md §1.4 forbids that). So the
    run's documents wait here, in order, shown to the task's departments and auditors, and are
    appended to the log when the draw's release is (draws.signals.release_published)."""

    run = models.ForeignKey(AssignmentRun, on_delete=models.CASCADE, related_name="held_entries")
    document = models.BinaryField("待公开的日志文档")
    replacement = models.ForeignKey(
        "Replacement", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = "待公开的人员抽取日志"
        verbose_name_plural = "待公开的人员抽取日志"

    def __str__(self) -> str:
        return f"{self.run} 待公开文档 {self.pk}"
