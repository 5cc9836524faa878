"""Target draws of a joint task (ssj-draw/1, DRAW-PROTOCOL.md §1).

A draw is prepared (candidates and the lead's exclusion decisions), frozen (canonical files written
under the data folder, hashes kept here), announced once every commitment is in, performed once
every entropy value is in, and released at once or after the on-site checks. A done draw is never
edited; an announced draw whose reveals miss ``reveals_due`` is abandoned and a new draw number
announced. The canonical files live on disk (``files_dir``): a province's population file is
hundreds of megabytes, and the published bytes must be served exactly as hashed.
"""

from django.db import models

from shuangsuiji.core.models import Department, Job, Jurisdiction, User
from shuangsuiji.directory.models import Target
from shuangsuiji.jointcheck.models import JointTask


class TargetDraw(models.Model):
    class State(models.TextChoices):
        PREPARING = "preparing", "待冻结"  # candidates computed, the lead decides on exclusions
        COMMITTING = "committing", "待承诺"  # population frozen, waiting for commitments
        ANNOUNCED = "announced", "已公告"  # announcement published, waiting for reveals / beacon
        DRAWN = "drawn", "已抽取"  # performed; the release is published or held
        ABANDONED = "abandoned", "已作废"

    task = models.ForeignKey(JointTask, on_delete=models.PROTECT, related_name="draws")
    number = models.PositiveIntegerField("抽取序号")
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.PREPARING)
    sealed = models.BooleanField("密封分层", default=True)
    allocation = models.CharField("分配方式", max_length=500, blank=True)
    release_mode = models.CharField("公开方式", max_length=20, default="immediate")
    # Frozen files (relative to the data folder) and their hashes.
    files_dir = models.CharField("文件目录", max_length=300, blank=True)
    population_sha256 = models.CharField(max_length=64, blank=True)
    excluded_sha256 = models.CharField(max_length=64, blank=True)
    strata_sha256 = models.CharField(max_length=64, blank=True)
    population_size = models.PositiveBigIntegerField("抽查对象总数", default=0)
    counts = models.JSONField("各层对象数", default=dict, blank=True)
    k = models.JSONField("各层抽取数", default=dict, blank=True)
    excluded_counts = models.JSONField("排除数", default=dict, blank=True)
    frozen_at = models.DateTimeField("冻结时间", null=True, blank=True)
    # Publication: the exact bytes appended to the public log, and their log index.
    reveals_due = models.DateTimeField("揭示截止时间", null=True, blank=True)
    announcement = models.BinaryField("公告", null=True, blank=True)
    announcement_index = models.PositiveBigIntegerField(null=True, blank=True)
    announced_at = models.DateTimeField("公告时间", null=True, blank=True)
    seed = models.CharField("种子", max_length=64, blank=True)
    drawn_at = models.DateTimeField("抽取时间", null=True, blank=True)
    record = models.BinaryField("抽取记录", null=True, blank=True)  # the release document
    released_at = models.DateTimeField("公开时间", null=True, blank=True)
    release_index = models.PositiveBigIntegerField(null=True, blank=True)
    abandoned = models.BinaryField("作废文档", null=True, blank=True)
    abandoned_at = models.DateTimeField("作废时间", null=True, blank=True)
    abandon_reason = models.CharField("作废原因", max_length=500, blank=True)
    # How the strata were formed when the draw was prepared (JointTask.StrataBy).
    strata_by = models.CharField("分层方式", max_length=10, blank=True)
    # Why a supplementary draw (number > 1 on a task whose list is already locked) was made.
    supplementary_reason = models.CharField("补充抽取原因", max_length=500, blank=True)
    freeze_job = models.ForeignKey(
        Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    perform_job = models.ForeignKey(
        Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["task_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["task", "number"], name="draw_number_unique")
        ]
        verbose_name = "检查对象抽取"
        verbose_name_plural = "检查对象抽取"

    def __str__(self) -> str:
        return f"{self.task.code} 第{self.number}次抽取"


class Exclusion(models.Model):
    """A candidate the lead decided to leave out before freezing, with its reason code (§1.2)."""

    draw = models.ForeignKey(TargetDraw, on_delete=models.CASCADE, related_name="exclusions")
    target = models.ForeignKey(Target, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField("原因代码", max_length=40)
    note = models.CharField("说明", max_length=300, blank=True)
    decided_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["draw", "target"], name="draw_exclusion_unique")
        ]
        verbose_name = "排除的检查对象"
        verbose_name_plural = "排除的检查对象"

    def __str__(self) -> str:
        return f"{self.target_id} {self.reason}"


class EntropyItem(models.Model):
    """One entropy item of a seed statement (§1.4): ``beacon.<source>.<issue>``,
    ``party.<department code>`` or ``server``. The value stays unshown until the draw; a party's
    value is made in that department's browser and arrives only after the announcement."""

    name = models.CharField("名称", max_length=100)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    commitment = models.CharField("承诺", max_length=64, blank=True)
    value = models.CharField("值", max_length=200, blank=True)
    committed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    committed_at = models.DateTimeField(null=True, blank=True)
    revealed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revealed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class DrawEntropy(EntropyItem):
    draw = models.ForeignKey(TargetDraw, on_delete=models.CASCADE, related_name="entropy")
    # A beacon's issue draw date as the lead gave it: checked to lie after reveals_due.
    issue_date = models.DateField("开奖日期", null=True, blank=True)

    class Meta:
        ordering = ["draw_id", "name"]
        constraints = [models.UniqueConstraint(fields=["draw", "name"], name="draw_entropy_unique")]
        verbose_name = "抽取熵项"
        verbose_name_plural = "抽取熵项"

    def __str__(self) -> str:
        return self.name


class Selection(models.Model):
    """One selected target in published order (§1.5): the locked list (锁定名单)."""

    draw = models.ForeignKey(TargetDraw, on_delete=models.CASCADE, related_name="selections")
    position = models.PositiveIntegerField("顺序")
    target = models.ForeignKey(Target, on_delete=models.PROTECT, related_name="+")
    stratum = models.CharField("层", max_length=100)  # the true stratum: internal when sealed
    score = models.CharField(max_length=64)

    class Meta:
        ordering = ["draw_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["draw", "position"], name="selection_position_unique"),
            models.UniqueConstraint(fields=["draw", "target"], name="selection_target_unique"),
        ]
        verbose_name = "抽中的检查对象"
        verbose_name_plural = "抽中的检查对象"

    def __str__(self) -> str:
        return f"{self.position} {self.target_id}"


class AnnualCap(models.Model):
    """How many times a year one target may be drawn for items of one class (A/B/C), per
    jurisdiction (国办发〔2024〕54号: each region publishes its own cap). Without a row the default
    :data:`DEFAULT_ANNUAL_CAP` applies (seeds 000/001: at most twice a year). Key items (重点检查事项)
    and complaint-driven tasks are exempt."""

    DEFAULT = 2

    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    item_class = models.CharField("事项分类", max_length=1)
    max_per_year = models.PositiveSmallIntegerField("每年最多抽中次数")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "item_class"], name="annual_cap_unique")
        ]
        verbose_name = "年度抽查次数上限"
        verbose_name_plural = "年度抽查次数上限"

    def __str__(self) -> str:
        return f"{self.item_class}类事项每年最多 {self.max_per_year} 次"
