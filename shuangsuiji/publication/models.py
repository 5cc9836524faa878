"""The append-only public log (DRAW-PROTOCOL.md §3).

Rows here are never changed or removed once written: the model and its queryset refuse it, so a
silent edit can only come from outside the application — and the Merkle tree makes that visible to
anyone who kept an earlier tree head.
"""

from django.db import models


class ImmutableError(Exception):
    """An attempt to change or delete a published log row."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableError("公开日志只能追加，不能修改。")

    def delete(self):
        raise ImmutableError("公开日志只能追加，不能删除。")


class AppendOnly(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableError("公开日志只能追加，不能修改。")
        kwargs["force_insert"] = True  # never an UPDATE, even with a primary key set
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError("公开日志只能追加，不能删除。")


class LogHead(models.Model):
    """One row (pk 1): the log's size and root, and the lock every append takes."""

    size = models.PositiveBigIntegerField("条目数", default=0)
    root = models.BinaryField("根哈希", max_length=32)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "公开日志树头"

    def __str__(self) -> str:
        return f"size={self.size}"


class LogEntry(AppendOnly):
    """Entry ``index``: the exact bytes published, and what they are (for listing only)."""

    class Kind(models.TextChoices):
        DRAW_ANNOUNCEMENT = "draw-announcement", "对象抽取公告"
        DRAW_RELEASE = "draw-release", "对象抽取结果"
        DRAW_ABANDONED = "draw-abandoned", "对象抽取作废"
        ASSIGN_ANNOUNCEMENT = "assign-announcement", "人员抽取公告"
        ASSIGN_REPLACEMENT = "assign-replacement", "人员替换"
        ASSIGN_RELEASE = "assign-release", "人员抽取结果"
        RESULT = "result", "抽查结果"
        CORRECTION = "correction", "更正"

    index = models.PositiveBigIntegerField("序号", primary_key=True)
    document = models.BinaryField("发布的原始字节")
    leaf_hash = models.BinaryField("叶哈希", max_length=32)
    kind = models.CharField("类别", max_length=32, choices=Kind.choices)
    protocol = models.CharField("协议", max_length=32, blank=True)
    stage = models.CharField("阶段", max_length=32, blank=True)
    type = models.CharField("类型", max_length=32, blank=True)
    task = models.CharField("任务编号", max_length=64, blank=True, db_index=True)
    draw = models.PositiveIntegerField("抽取批次", null=True, blank=True)
    corrects = models.PositiveBigIntegerField("更正的条目", null=True, blank=True)
    published_at = models.DateTimeField("发布时间")

    class Meta:
        verbose_name = "公开日志条目"
        ordering = ["index"]

    def __str__(self) -> str:
        return f"#{self.index} {self.get_kind_display()} {self.task}"


class LogSubtree(AppendOnly):
    """Hash of the complete subtree over leaves ``[start, start + 2**level)``, written when its last
    leaf is appended, so a tree head or proof reads O(log n) rows instead of every leaf."""

    level = models.PositiveSmallIntegerField()
    start = models.PositiveBigIntegerField()
    hash = models.BinaryField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["level", "start"], name="publication_subtree_unique")
        ]

    def __str__(self) -> str:
        return f"level={self.level} start={self.start}"
