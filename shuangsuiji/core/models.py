"""Organisation (jurisdictions, departments, users and roles), the working-day calendar, the audit
trail and background jobs: what every other app builds on."""

from django.contrib.auth.models import AbstractUser
from django.db import models


class Jurisdiction(models.Model):
    """A 行政区划 (GB/T 2260). Codes are revised yearly; old ones are kept, marked inactive."""

    class Level(models.TextChoices):
        PROVINCE = "province", "省级"
        PREFECTURE = "prefecture", "地级"
        COUNTY = "county", "县级"
        TOWNSHIP = "township", "乡级"

    code = models.CharField("行政区划代码", max_length=12, unique=True)
    name = models.CharField("名称", max_length=100)
    level = models.CharField("级别", max_length=12, choices=Level.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    active = models.BooleanField("现行代码", default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "行政区划"
        verbose_name_plural = "行政区划"

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def code_prefix(self) -> str:
        """The code prefix of everything this jurisdiction covers (a prefecture its counties)."""
        return self.code[: {"province": 2, "prefecture": 4}.get(self.level, 6)]


class Department(models.Model):
    """A 成员单位 of the joint-conference of one jurisdiction. ``code`` is short upper-case pinyin
    initials (``SCJGJ`` for 市场监督管理局); it appears in public draw records."""

    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="departments"
    )
    code = models.CharField("部门代码", max_length=20)
    name = models.CharField("部门名称", max_length=100)
    short_name = models.CharField("简称", max_length=40, blank=True)
    hosts_office = models.BooleanField("联席会议办公室所在单位", default=False)
    sort_order = models.PositiveIntegerField("排序", default=0)
    active = models.BooleanField("在册", default=True)

    class Meta:
        ordering = ["sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "code"], name="department_code_unique"),
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[A-Z0-9]+$"), name="department_code_format"
            ),
        ]
        verbose_name = "成员单位"
        verbose_name_plural = "成员单位"

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A platform account. The role decides what the user may do; the department (and for the
    office, the jurisdiction) decides on which data."""

    class Role(models.TextChoices):
        OFFICE = "office", "联席会议办公室"
        DEPT_ADMIN = "dept_admin", "部门管理员"
        DEPT_HEAD = "dept_head", "部门负责人"
        INSPECTOR = "inspector", "执法检查人员"
        AUDITOR = "auditor", "监督审计（只读）"

    full_name = models.CharField("姓名", max_length=50, blank=True)
    role = models.CharField("角色", max_length=12, choices=Role.choices, default=Role.DEPT_ADMIN)
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


class CalendarYear(models.Model):
    """A year whose official holiday schedule (国务院办公厅放假安排) is in the table. Without one,
    working-day arithmetic for that year refuses instead of guessing Monday–Friday."""

    year = models.PositiveIntegerField("年份", unique=True)
    source = models.CharField("来源", max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["year"]
        verbose_name = "节假日安排年度"
        verbose_name_plural = "节假日安排年度"

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """An exception to Monday–Friday: a public holiday on a weekday, or a weekend working day (调休)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", "法定节假日（休）"
        WORKDAY = "workday", "调休上班"

    date = models.DateField("日期", unique=True)
    kind = models.CharField("类型", max_length=8, choices=Kind.choices)
    name = models.CharField("节日", max_length=40, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = "节假日调整"
        verbose_name_plural = "节假日调整"

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}"


class AuditEntry(models.Model):
    """Who changed what and when, with the record before and after (NetBox's ObjectChange)."""

    class Action(models.TextChoices):
        CREATE = "create", "新增"
        UPDATE = "update", "修改"
        DELETE = "delete", "删除"
        REMOVE = "remove", "出库"
        PUBLISH = "publish", "发布"
        IMPORT = "import", "导入"
        LOGIN = "login", "登录"

    at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    # No index on user (no query filters by it) and department only in (department, at), the
    # audit list's filter and order: every index costs time on each of a million-row import's
    # audit rows.
    user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    user_name = models.CharField("操作人", max_length=150, blank=True)
    department = models.ForeignKey(
        Department,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    action = models.CharField("操作", max_length=10, choices=Action.choices)
    object_type = models.CharField("对象类型", max_length=60)
    object_id = models.CharField("对象编号", max_length=64)
    object_repr = models.CharField("对象", max_length=200, blank=True)
    before = models.JSONField("修改前", null=True, blank=True)
    after = models.JSONField("修改后", null=True, blank=True)
    note = models.CharField("说明", max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["department", "at"], name="core_audit_dept_at"),
        ]
        verbose_name = "操作日志"
        verbose_name_plural = "操作日志"

    def __str__(self) -> str:
        return f"{self.user_name} {self.get_action_display()} {self.object_repr}"

    # Kept in the entry, not shown as changes: every save moves them.
    BOOKKEEPING = frozenset({"id", "created_at", "updated_at"})

    def changed_fields(self) -> list[tuple[str, object, object]]:
        before, after = self.before or {}, self.after or {}
        keys = sorted((set(before) | set(after)) - self.BOOKKEEPING)
        return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


class Job(models.Model):
    """Long work (imports, big draws, reports) run by the job worker, with progress.

    The row is the job's whole state, so a restarted worker picks up what was queued and re-runs
    what was interrupted (every job kind is written to be safely re-run from the start)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "排队中"
        RUNNING = "running", "进行中"
        DONE = "done", "已完成"
        FAILED = "failed", "失败"

    kind = models.CharField("类型", max_length=40)
    params = models.JSONField("参数", default=dict)
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.BigIntegerField("已处理", default=0)
    total = models.BigIntegerField("总数", default=0)
    message = models.CharField("当前步骤", max_length=200, blank=True)
    result = models.JSONField("结果", null=True, blank=True)
    error = models.TextField("错误", blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]
        verbose_name = "后台任务"
        verbose_name_plural = "后台任务"

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.get_status_display()}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(self.progress * 100 / self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
