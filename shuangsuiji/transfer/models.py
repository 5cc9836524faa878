"""Imports: an uploaded file, its preview (validated rows and the per-row error report) and the
apply step. The heavy work runs as a :class:`shuangsuiji.core.models.Job`."""

from pathlib import Path

from django.conf import settings
from django.db import models

from shuangsuiji.core.models import AuditEntry, Department, Job, User


class ImportBatch(models.Model):
    """One uploaded file and what became of it.

    uploaded → previewing → previewed → applying → applied; a file that cannot be read at all
    (wrong headings, formulas, not a spreadsheet …) ends ``rejected``; an unexpected error ends
    ``failed``. The preview only reads; apply re-validates and writes in one transaction."""

    class Kind(models.TextChoices):
        TARGETS = "targets", "检查对象名录库"
        INSPECTORS = "inspectors", "执法检查人员名录库"
        ITEMS = "items", "抽查事项清单"

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "已上传"
        PREVIEWING = "previewing", "校验中"
        PREVIEWED = "previewed", "已校验，待导入"
        APPLYING = "applying", "导入中"
        APPLIED = "applied", "已导入"
        REJECTED = "rejected", "文件被拒绝"
        FAILED = "failed", "失败"

    kind = models.CharField("导入类型", max_length=12, choices=Kind.choices)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="import_batches"
    )
    # Null for the command line's system user.
    user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    user_name = models.CharField("导入人", max_length=150, blank=True)
    filename = models.CharField("文件名", max_length=255)
    stored_path = models.CharField("存储路径", max_length=500, help_text="相对于数据目录")
    size = models.BigIntegerField("文件大小", default=0)
    sha256 = models.CharField("SHA-256", max_length=64)
    status = models.CharField(
        "状态", max_length=10, choices=Status.choices, default=Status.UPLOADED
    )
    message = models.TextField("说明", blank=True, help_text="被拒绝或失败的原因、读取的工作表等")
    sheet_name = models.CharField("读取的工作表", max_length=100, blank=True)
    valid_only = models.BooleanField("仅导入有效行", default=False)

    total = models.PositiveIntegerField("总行数", default=0)
    new = models.PositiveIntegerField("新增", default=0)
    changed = models.PositiveIntegerField("修改", default=0)
    unchanged = models.PositiveIntegerField("未变", default=0)
    removed = models.PositiveIntegerField("出库", default=0)
    invalid = models.PositiveIntegerField("无效", default=0)
    error_count = models.PositiveIntegerField("错误条数", default=0)
    # The first errors, for the page and the console; all of them are in the .xlsx report.
    sample_errors = models.JSONField("错误示例", default=list, blank=True)
    report_path = models.CharField(
        "错误报告路径", max_length=500, blank=True, help_text="相对于数据目录"
    )

    job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField("上传时间", auto_now_add=True)
    previewed_at = models.DateTimeField("校验时间", null=True, blank=True)
    applied_at = models.DateTimeField("导入时间", null=True, blank=True)
    applied_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["department", "kind", "created_at"])]
        verbose_name = "导入批次"
        verbose_name_plural = "导入批次"

    def __str__(self) -> str:
        return f"{self.get_kind_display()}导入 #{self.pk}（{self.filename}）"

    @property
    def file(self) -> Path:
        return Path(settings.DATA_DIR) / self.stored_path

    @property
    def report_file(self) -> Path | None:
        return Path(settings.DATA_DIR) / self.report_path if self.report_path else None

    @property
    def counts(self) -> dict[str, int]:
        return {
            "total": self.total,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "invalid": self.invalid,
        }

    @property
    def valid(self) -> int:
        return self.total - self.invalid

    @property
    def can_apply(self) -> bool:
        """Whether apply may be asked for now (all-or-nothing needs zero invalid rows)."""
        return self.status == self.Status.PREVIEWED and self.valid > 0

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.APPLIED, self.Status.REJECTED, self.Status.FAILED)


class AuditChunk(models.Model):
    """Part of an import's audit entry (:mod:`shuangsuiji.transfer.changelog`): the before/after
    of every record of one type that one chunk of the file changed, compressed. Who and when are
    on ``entry`` (action 导入, the batch); a record's history reads its changes from here."""

    entry = models.ForeignKey(AuditEntry, on_delete=models.PROTECT, related_name="+")
    object_type = models.CharField("对象类型", max_length=60)
    lo = models.BigIntegerField("最小对象编号")
    hi = models.BigIntegerField("最大对象编号")
    count = models.PositiveIntegerField("记录数")
    note = models.CharField("说明", max_length=500, blank=True)
    ids = models.BinaryField("对象编号（压缩）")
    data = models.BinaryField("变更内容（压缩）")

    class Meta:
        indexes = [models.Index(fields=["object_type", "lo", "hi"], name="transfer_chunk_range")]
        verbose_name = "导入变更记录块"
        verbose_name_plural = "导入变更记录块"

    def __str__(self) -> str:
        return f"{self.object_type} {self.lo}–{self.hi}（{self.count} 条）"
