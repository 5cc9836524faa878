"""一单: the inspection item lists (抽查事项清单), one per department, plus the office's joint list.

A list has versions. A draft is edited freely; publishing freezes it, and any later change is
made in a new draft version copied from it ("动态调整"), so what was published stays on record."""

from django.db import models

from shuangsuiji.core.models import Department, Jurisdiction, User


class ItemList(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        PUBLISHED = "published", "已发布"
        SUPERSEDED = "superseded", "已被新版本替代"

    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="item_lists"
    )
    # Null for the office's joint list (联合抽查事项清单).
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="item_lists"
    )
    version = models.PositiveIntegerField("版本", default=1)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT)
    note = models.CharField("调整说明", max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    published_at = models.DateTimeField("发布时间", null=True, blank=True)
    published_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The highest item-code number ever given out in this list's line of versions (copied into
    # each new version), so a deleted item's code is never given to a different item.
    code_seq = models.PositiveIntegerField("已分配事项编号", default=0)

    class Meta:
        ordering = ["department__sort_order", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["jurisdiction", "department", "version"], name="item_list_version_unique"
            ),
            models.UniqueConstraint(
                fields=["jurisdiction", "version"],
                condition=models.Q(department__isnull=True),
                name="joint_list_version_unique",
            ),
            # At most one draft and one current published version per owner: the services check
            # this too, but the database settles races between two users clicking at once.
            models.UniqueConstraint(
                fields=["jurisdiction", "department"],
                condition=models.Q(status="draft", department__isnull=False),
                name="item_list_one_draft",
            ),
            models.UniqueConstraint(
                fields=["jurisdiction"],
                condition=models.Q(status="draft", department__isnull=True),
                name="joint_list_one_draft",
            ),
            models.UniqueConstraint(
                fields=["jurisdiction", "department"],
                condition=models.Q(status="published", department__isnull=False),
                name="item_list_one_published",
            ),
            models.UniqueConstraint(
                fields=["jurisdiction"],
                condition=models.Q(status="published", department__isnull=True),
                name="joint_list_one_published",
            ),
        ]
        verbose_name = "抽查事项清单"
        verbose_name_plural = "抽查事项清单"

    def __str__(self) -> str:
        return f"{self.owner_name} 第{self.version}版（{self.get_status_display()}）"

    @property
    def is_joint(self) -> bool:
        return self.department_id is None

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def owner_name(self) -> str:
        return self.department.name if self.department_id else "联合抽查事项清单"


class Item(models.Model):
    """One line of an item list, with the seed templates' columns and seed 004's A/B/C class."""

    class ItemType(models.TextChoices):
        GENERAL = "general", "一般检查事项"
        KEY = "key", "重点检查事项"

    class ItemClass(models.TextChoices):
        A = "A", "A类（一般事项，年度抽查比例≤10%）"
        B = "B", "B类（重点事项，比例>10%，不设上限）"
        C = "C", "C类（部门联合抽查事项）"

    item_list = models.ForeignKey(ItemList, on_delete=models.CASCADE, related_name="items")
    # Stable across versions: the same item in v1 and v2 keeps its code (e.g. SCJGJ-001).
    code = models.CharField("事项编码", max_length=40)
    seq = models.PositiveIntegerField("序号", default=0)
    category = models.CharField("抽查类别", max_length=100)
    name = models.CharField("检查事项", max_length=300)
    target_type = models.CharField("检查对象", max_length=300)
    item_type = models.CharField(
        "事项类别", max_length=8, choices=ItemType.choices, default=ItemType.GENERAL
    )
    methods = models.CharField(
        "检查方式",
        max_length=100,
        help_text="书面检查、网络监测、实地核查、其他，可多选，用“、”分隔",
    )
    subject = models.CharField("检查主体", max_length=200)
    frequency = models.CharField("检查频次", max_length=100, blank=True)
    content = models.TextField("检查内容", blank=True)
    basis = models.TextField("检查依据")
    item_class = models.CharField(
        "事项分类", max_length=1, choices=ItemClass.choices, default=ItemClass.A
    )
    # For the joint list: the department items it was built from.
    source_items = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="joint_items"
    )

    class Meta:
        # "item_list_id", not "item_list": ordering by the relation would join the list and its
        # department into every item query.
        ordering = ["item_list_id", "seq", "code"]
        constraints = [
            models.UniqueConstraint(fields=["item_list", "code"], name="item_code_unique_in_list")
        ]
        verbose_name = "抽查事项"
        verbose_name_plural = "抽查事项"

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def method_list(self) -> list[str]:
        return [m for m in self.methods.split("、") if m]


# The item template's columns in the seeds' order, with their headings: compared between versions,
# validated by the services and read by the import.
ITEM_FIELDS: tuple[tuple[str, str], ...] = (
    ("category", "抽查类别"),
    ("name", "检查事项"),
    ("target_type", "检查对象"),
    ("item_type", "事项类别"),
    ("methods", "检查方式"),
    ("subject", "检查主体"),
    ("frequency", "检查频次"),
    ("content", "检查内容"),
    ("basis", "检查依据"),
    ("item_class", "事项分类"),
)
