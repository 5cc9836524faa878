"""一计划: the departments' annual plans (抽查工作计划), the office's merge into joint entries, and
the jurisdiction's published joint annual plan with its versions.

A department's plan for a year has versions: one open version (draft, submitted or returned) at a
time; accepted versions stay on record, and an adjustment during the year is a new version copied
from the last accepted one. The published joint plan is a frozen snapshot (``rows``), so what the
public saw in any version never changes."""

import datetime

from django.db import models

from shuangsuiji.catalog.models import Item
from shuangsuiji.core.models import Department, Jurisdiction, User

RISK_CLASSES = ("A", "B", "C", "D", "U")


class PlanSettings(models.Model):
    """Deadlines and thresholds per jurisdiction and year, kept by the office. The seeds differ
    (departments report by Jan 20 or Feb 28; the office publishes by Feb or Mar 30), hence settings."""

    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveIntegerField("年度")
    department_deadline = models.DateField("部门报送截止日期")
    office_deadline = models.DateField("联席办公布截止日期")
    credit_linked_min_percent = models.PositiveSmallIntegerField(
        "关联信用规则任务最低占比（%）", default=50
    )
    a_class_max_bp = models.PositiveIntegerField(
        "A类事项抽查比例上限（基点）", default=1000, help_text="10000 基点 = 100%"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "year"], name="plan_settings_unique")
        ]
        verbose_name = "抽查计划设置"
        verbose_name_plural = "抽查计划设置"

    def __str__(self) -> str:
        return f"{self.jurisdiction.name} {self.year}年抽查计划设置"

    @staticmethod
    def default_deadlines(year: int) -> tuple[datetime.date, datetime.date]:
        return datetime.date(year, 1, 20), datetime.date(year, 3, 30)


class AnnualPlan(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        SUBMITTED = "submitted", "已报送"
        RETURNED = "returned", "已退回"
        ACCEPTED = "accepted", "已采纳"

    OPEN_STATUSES = (Status.DRAFT, Status.SUBMITTED, Status.RETURNED)
    EDITABLE_STATUSES = (Status.DRAFT, Status.RETURNED)

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="plans")
    year = models.PositiveIntegerField("年度")
    version = models.PositiveIntegerField("版本", default=1)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT)
    note = models.CharField("调整说明", max_length=500, blank=True)
    office_comments = models.TextField("办公室意见", blank=True)
    submitted_at = models.DateTimeField("报送时间", null=True, blank=True)
    late = models.BooleanField("逾期报送", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["department__sort_order", "department__code", "-year", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["department", "year", "version"], name="plan_version_unique"
            ),
            # One open version per department and year; the database settles double clicks.
            models.UniqueConstraint(
                fields=["department", "year"],
                condition=models.Q(status__in=["draft", "submitted", "returned"]),
                name="plan_one_open_version",
            ),
        ]
        verbose_name = "年度抽查工作计划"
        verbose_name_plural = "年度抽查工作计划"

    def __str__(self) -> str:
        return f"{self.department.name}{self.year}年抽查工作计划 第{self.version}版"

    @property
    def editable(self) -> bool:
        return self.status in self.EDITABLE_STATUSES


class PlanLine(models.Model):
    """One line of a plan, with the template's columns (seeds 003, 004 第二十六条)."""

    class Kind(models.TextChoices):
        INTERNAL = "internal", "部门内部"
        JOINT = "joint", "部门联合"

    plan = models.ForeignKey(AnnualPlan, on_delete=models.CASCADE, related_name="lines")
    seq = models.PositiveIntegerField("序号", default=0)
    plan_name = models.CharField("抽查计划名称", max_length=200)
    task_name = models.CharField("抽查任务名称", max_length=200)
    kind = models.CharField("联合方式", max_length=8, choices=Kind.choices, default=Kind.INTERNAL)
    directed = models.BooleanField("定向抽查", default=False)
    # The GET parameters of the directory's target list (directory.selectors.target_entries),
    # evaluated on the plan department's directory; canonical (sorted keys, sorted lists).
    scope = models.JSONField("抽查对象范围", default=dict, blank=True)
    scope_label = models.CharField("抽查对象范围说明", max_length=300, blank=True)
    items = models.ManyToManyField(Item, related_name="plan_lines", verbose_name="抽查事项")
    # Basis points per credit-risk class (DRAW-PROTOCOL.md §1.3 ratio mode), e.g. {"A": 300}.
    ratios = models.JSONField("抽查比例", default=dict)
    credit_linked = models.BooleanField("关联信用风险分类", default=False)
    initiator = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="+", verbose_name="检查发起机关"
    )
    joint_departments = models.ManyToManyField(
        Department, blank=True, related_name="+", verbose_name="联合机关"
    )
    draw_date = models.DateField("抽取日期", null=True, blank=True)
    period_start = models.DateField("计划时间（起）")
    period_end = models.DateField("计划时间（止）")
    lead_division = models.CharField("牵头处室", max_length=100, blank=True)
    support_divisions = models.CharField("配合处室", max_length=200, blank=True)
    # Last computed expected numbers, for readers who may not count another department's directory.
    expected_total = models.PositiveIntegerField("预计抽查对象数", default=0)
    expected_by_class = models.JSONField(default=dict, blank=True)
    population_total = models.PositiveIntegerField("抽查对象总数", default=0)

    class Meta:
        ordering = ["plan_id", "seq", "id"]
        verbose_name = "抽查计划条目"
        verbose_name_plural = "抽查计划条目"

    def __str__(self) -> str:
        return f"{self.task_name}"

    @property
    def type_label(self) -> str:
        return f"{self.get_kind_display()}{'定向' if self.directed else '不定向'}抽查"

    @property
    def ratio_label(self) -> str:
        parts = [
            f"{c}类{self.ratios[c] / 100:g}%"
            for c in RISK_CLASSES
            if self.ratios.get(c) is not None
        ]
        return "，".join(parts)

    @property
    def period_label(self) -> str:
        return f"{self.period_start:%Y-%m-%d}至{self.period_end:%Y-%m-%d}"


class JointPlanEntry(models.Model):
    """One joint task of the jurisdiction's annual plan, confirmed by the office from department
    lines with the same target scope and period ("进一次门、查多项事")."""

    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveIntegerField("年度")
    name = models.CharField("联合抽查任务名称", max_length=200)
    lead_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="+", verbose_name="牵头部门"
    )
    departments = models.ManyToManyField(Department, related_name="+", verbose_name="参与部门")
    source_lines = models.ManyToManyField(PlanLine, related_name="joint_entries")
    scope = models.JSONField("抽查对象范围", default=dict, blank=True)
    period_start = models.DateField("计划时间（起）")
    period_end = models.DateField("计划时间（止）")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["year", "id"]
        verbose_name = "联合抽查计划条目"
        verbose_name_plural = "联合抽查计划条目"

    def __str__(self) -> str:
        return self.name


class PublishedPlan(models.Model):
    """A published version of the jurisdiction's joint annual plan: a frozen public snapshot."""

    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveIntegerField("年度")
    version = models.PositiveIntegerField("版本")
    reason = models.CharField("调整原因", max_length=500, blank=True)
    rows = models.JSONField("计划内容", default=list)
    late = models.BooleanField("逾期公布", default=False)
    published_at = models.DateTimeField("发布时间", auto_now_add=True)
    published_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["jurisdiction_id", "-year", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["jurisdiction", "year", "version"], name="published_plan_version_unique"
            )
        ]
        verbose_name = "联合抽查工作计划（已发布）"
        verbose_name_plural = "联合抽查工作计划（已发布）"

    def __str__(self) -> str:
        return f"{self.jurisdiction.name}{self.year}年部门联合抽查工作计划 第{self.version}版"
