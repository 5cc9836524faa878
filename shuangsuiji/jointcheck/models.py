"""The joint task (部门联合抽查任务) and its departments (DOMAIN.md "The joint task").

A task moves through ``JointTask.State`` one service call at a time (jointcheck.services); the
draws app records the target draws of a task and the staffing app its inspector draws.

Task codes: ``code`` is the protocol's task code (DRAW-PROTOCOL.md §1.4 ``task=``), ASCII and
URL-safe, ``<year>-<lead department code>-<sequence, 4 digits>`` (``2026-SCJGJ-0007``); the
document number shown to people (``州市场监督管理局抽查〔2026〕7号``) is derived from it.
"""

import datetime

from django.db import models
from django.utils import timezone

from shuangsuiji.catalog.models import Item
from shuangsuiji.core.models import Department, Jurisdiction, User
from shuangsuiji.planning.models import JointPlanEntry, PlanLine


class JointTask(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "草稿"
        INITIATED = "initiated", "已发起"
        COORDINATING = "coordinating", "协调中"
        AWAITING = "awaiting", "待响应"
        ESTABLISHED = "established", "已确立"
        DRAWN = "drawn", "已抽取"
        DISPATCHED = "dispatched", "已派发"
        CANCELLED = "cancelled", "已取消"

    # Cancellation with a reason is allowed from any of these (issue 4).
    CANCELLABLE = (
        State.DRAFT,
        State.INITIATED,
        State.COORDINATING,
        State.AWAITING,
        State.ESTABLISHED,
    )

    class StrataBy(models.TextChoices):
        RISK = "risk", "按信用风险分类（密封分层）"
        REGION = "region", "按区域（公开分层）"
        INDUSTRY = "industry", "按行业（公开分层）"
        NONE = "none", "不分层"

    class AllocationMode(models.TextChoices):
        RATIO = "ratio", "按比例"
        COUNT = "count", "按数量"

    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    code = models.CharField("任务编号", max_length=64, unique=True)
    year = models.PositiveIntegerField("年度")
    seq = models.PositiveIntegerField("序号")
    name = models.CharField("抽查任务名称", max_length=200)
    lead_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="led_tasks", verbose_name="牵头部门"
    )
    plan_line = models.ForeignKey(
        PlanLine, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    joint_entry = models.ForeignKey(
        JointPlanEntry, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    directed = models.BooleanField("定向抽查", default=False)
    complaint_driven = models.BooleanField(
        "投诉举报引发", default=False, help_text="不受年度抽查次数上限限制"
    )
    # The directory's list filter (directory.selectors params, canonical as planning.clean_scope),
    # evaluated on the lead department's directory at freeze time.
    scope = models.JSONField("抽查对象范围", default=dict, blank=True)
    scope_label = models.CharField("抽查对象范围说明", max_length=300, blank=True)
    items = models.ManyToManyField(Item, related_name="tasks", verbose_name="抽查事项")
    strata_by = models.CharField(
        "分层方式", max_length=10, choices=StrataBy.choices, default=StrataBy.RISK
    )
    allocation_mode = models.CharField(
        "抽取方式", max_length=5, choices=AllocationMode.choices, default=AllocationMode.RATIO
    )
    # ratio mode: basis points per stratum label ({"A": 300}); count mode: weights per label.
    ratios = models.JSONField("抽查比例（基点）", default=dict, blank=True)
    count_total = models.PositiveIntegerField("抽取总数", null=True, blank=True)
    weights = models.JSONField("分层权重", default=dict, blank=True)
    unannounced = models.BooleanField(
        "不预先告知", default=False, help_text="检查前不宜告知：抽取结果在现场检查结束后公开"
    )
    period_start = models.DateField("计划时间（起）")
    period_end = models.DateField("计划时间（止）")
    draw_date = models.DateField("计划抽取日期", null=True, blank=True)
    # 方案 (fixed when the task is established)
    inspect_start = models.DateField("检查开始日期", null=True, blank=True)
    inspect_end = models.DateField("检查结束日期", null=True, blank=True)
    batches = models.PositiveSmallIntegerField("批次数", default=1)
    targets_per_team = models.PositiveSmallIntegerField(
        "每组检查对象数", default=1, help_text="大于 1 时，同一区域的对象编入同一检查组"
    )
    rotation_rule = models.BooleanField(
        "轮换规则", default=True, help_text="不派上次检查过同一对象的执法人员"
    )
    required_specialities = models.CharField("所需业务专长", max_length=300, blank=True)
    scheme_note = models.TextField("实施方案说明", blank=True)

    state = models.CharField("状态", max_length=12, choices=State.choices, default=State.DRAFT)
    state_changed_at = models.DateTimeField("状态变更时间", null=True, blank=True)
    initiated_at = models.DateTimeField("发起时间", null=True, blank=True)
    cancel_reason = models.CharField("取消原因", max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-year", "-seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead_department", "year", "seq"], name="task_seq_unique"
            )
        ]
        indexes = [models.Index(fields=["jurisdiction", "year", "state"])]
        verbose_name = "部门联合抽查任务"
        verbose_name_plural = "部门联合抽查任务"

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def document_number(self) -> str:
        """``州市场监督管理局抽查〔2026〕7号`` (DOMAIN.md: issuer, year, sequence)."""
        issuer = self.lead_department.short_name or self.lead_department.name
        return f"{issuer}抽查〔{self.year}〕{self.seq}号"

    @property
    def is_internal(self) -> bool:
        """Only the lead takes part (部门内部): no response step."""
        return not any(
            p.role == TaskDepartment.Role.PARTNER and p.response != TaskDepartment.Response.DECLINED
            for p in self.participants.all()
        )

    @property
    def sealed(self) -> bool:
        return self.strata_by == self.StrataBy.RISK

    @property
    def release_mode(self) -> str:
        """The announcement's ``release`` (DRAW-PROTOCOL.md §1.6)."""
        return "after-inspection" if self.unannounced else "immediate"


class TaskDepartment(models.Model):
    """A department taking part in a task (the lead included), its response and its staffing."""

    class Role(models.TextChoices):
        LEAD = "lead", "牵头"
        PARTNER = "partner", "配合"

    class Response(models.TextChoices):
        PENDING = "pending", "待响应"
        ACCEPTED = "accepted", "已确认参加"
        DECLINED = "declined", "不参加"

    task = models.ForeignKey(JointTask, on_delete=models.CASCADE, related_name="participants")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    role = models.CharField("角色", max_length=8, choices=Role.choices, default=Role.PARTNER)
    items = models.ManyToManyField(Item, blank=True, related_name="+", verbose_name="本部门事项")
    response = models.CharField(
        "响应", max_length=8, choices=Response.choices, default=Response.PENDING
    )
    response_due = models.DateField("响应截止日期", null=True, blank=True)
    responded_at = models.DateTimeField("响应时间", null=True, blank=True)
    responded_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    response_note = models.CharField("响应说明", max_length=500, blank=True)
    # Set when a partner that never responded is taken off the task after its response date
    # (by the lead or the office): it counts as an overdue non-response, not as a refusal.
    dropped_at = models.DateTimeField("逾期未响应移出时间", null=True, blank=True)
    # How many of this department's inspectors go in each team (the need file, §2.1).
    inspectors_per_team = models.PositiveSmallIntegerField("每组派出人数", default=1)

    class Meta:
        ordering = ["task_id", "-role", "department__sort_order", "department__code"]
        constraints = [
            models.UniqueConstraint(fields=["task", "department"], name="task_department_unique")
        ]
        verbose_name = "任务参与部门"
        verbose_name_plural = "任务参与部门"

    def __str__(self) -> str:
        return f"{self.task.code} · {self.department.name}"

    @property
    def is_lead(self) -> bool:
        return self.role == self.Role.LEAD

    @property
    def active(self) -> bool:
        """Takes part: the lead, and partners that have not declined."""
        return self.response != self.Response.DECLINED

    def overdue(self, today: datetime.date | None = None) -> bool:
        """A partner that has not responded and whose response date has passed (seed 004 第四十条)."""
        if self.is_lead or self.response != self.Response.PENDING or self.response_due is None:
            return False
        if self.task.state != JointTask.State.AWAITING:
            return False
        return (today or timezone.localdate()) > self.response_due

    @property
    def late(self) -> bool:
        """Responded after the response date (allowed, but flagged)."""
        if self.responded_at is None or self.response_due is None:
            return False
        return timezone.localdate(self.responded_at) > self.response_due
