"""两库: the target directory (检查对象名录库) and the inspector directory (执法人员名录库).

Targets: one master directory (总库) per jurisdiction, one row per entity code. A department's own
directory is its set of :class:`DirectoryEntry` rows, and its sub-directories (子库, 标签分类库,
seed 004 第十五条) are the entries carrying a tag. Registry facts live on the target; membership and
tags belong to the department.

Multi-valued text fields (tags, regions, specialities) are stored as ``|a|b|`` so that "has tag x"
is an indexed-free ``LIKE '%|x|%'`` that works the same on SQLite and PostgreSQL; use
:func:`pack` / :func:`unpack` and :func:`has_value`.
"""

import datetime

from django.db import models

from shuangsuiji.core.models import Department, Jurisdiction, User


def pack(values) -> str:
    values = [v.strip() for v in values if v and v.strip()]
    return "|" + "|".join(dict.fromkeys(values)) + "|" if values else ""


def unpack(text: str) -> list[str]:
    return [v for v in (text or "").split("|") if v]


def has_value(field: str, value: str) -> models.Q:
    return models.Q(**{f"{field}__contains": f"|{value}|"})


class Target(models.Model):
    class CodeKind(models.TextChoices):
        USCC = "uscc", "统一社会信用代码"
        REGNO = "regno", "注册号"
        OTHER = "other", "其他对象编码"

    class ObjectKind(models.TextChoices):
        COMPANY = "company", "企业"
        INDIVIDUAL = "individual", "个体工商户"
        COOPERATIVE = "cooperative", "农民专业合作社"
        SOCIAL = "social", "社会组织"
        INSTITUTION = "institution", "事业单位"
        OTHER_ORG = "other_org", "其他组织"
        NON_MARKET = "non_market", "非市场主体（产品、项目、行为）"

    class RegStatus(models.TextChoices):
        ACTIVE = "active", "存续（在营、开业、在册）"
        SUSPENDED = "suspended", "停业"
        DEREGISTERED = "deregistered", "注销"
        REVOKED = "revoked", "吊销"
        CANCELLED = "cancelled", "撤销"
        MOVED_OUT = "moved_out", "迁出"

    class RiskClass(models.TextChoices):
        A = "A", "A 信用风险低"
        B = "B", "B 信用风险一般"
        C = "C", "C 信用风险较高"
        D = "D", "D 信用风险高"
        U = "U", "未分类"

    # No index of its own: the unique (jurisdiction, code) index serves every lookup by
    # jurisdiction, and PostgreSQL's planner picked this one on a never-analysed table during a
    # large import (reading every target already inserted, once per chunk: quadratic).
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    code = models.CharField("统一社会信用代码/注册号", max_length=64)
    code_kind = models.CharField("编码类型", max_length=5, choices=CodeKind.choices)
    name = models.CharField("名称", max_length=200)
    object_kind = models.CharField("对象类别", max_length=12, choices=ObjectKind.choices)
    entity_type = models.CharField("市场主体类型", max_length=100, blank=True)
    registration_authority = models.CharField("登记机关", max_length=100, blank=True)
    legal_rep = models.CharField("法定代表人/负责人", max_length=100, blank=True)
    address = models.CharField("住所", max_length=300, blank=True)
    reg_status = models.CharField(
        "登记状态", max_length=12, choices=RegStatus.choices, default=RegStatus.ACTIVE
    )
    established = models.DateField("成立日期", null=True, blank=True)
    business_scope = models.TextField("经营范围", blank=True)
    region = models.ForeignKey(
        Jurisdiction,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="所属区域",
    )
    industry = models.CharField(
        "国民经济行业代码", max_length=5, blank=True, help_text="GB/T 4754，如 F5211 或门类字母 F"
    )
    risk_class = models.CharField(
        "信用风险分类", max_length=1, choices=RiskClass.choices, default=RiskClass.U
    )
    abnormal = models.BooleanField("列入经营异常名录", default=False)
    serious_illegal = models.BooleanField("列入严重违法失信名单", default=False)
    complaints = models.PositiveIntegerField("投诉举报次数", default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "code"], name="target_code_unique")
        ]
        # No index on name: the lists search it with "contains" (LIKE '%…%'), which no B-tree
        # index serves, and nothing sorts by it; it cost every imported row an insert into a
        # randomly ordered index.
        indexes = [models.Index(fields=["jurisdiction", "region", "risk_class"])]
        verbose_name = "检查对象"
        verbose_name_plural = "检查对象"

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class DirectoryEntry(models.Model):
    """A target in a department's directory (入库), with the department's own tags (子库)."""

    # No index of its own: (department, target) and (department, active) both start with it.
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="directory_entries", db_index=False
    )
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="entries")
    tags = models.CharField("标签", max_length=500, blank=True)
    active = models.BooleanField("在库", default=True)
    added_at = models.DateTimeField("入库时间", auto_now_add=True)
    removed_at = models.DateTimeField("出库时间", null=True, blank=True)
    removed_reason = models.CharField("出库原因", max_length=200, blank=True)
    # Carried by the edit forms so that a stale form is refused instead of overwriting.
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["department", "target"], name="directory_entry_unique")
        ]
        indexes = [models.Index(fields=["department", "active"])]
        verbose_name = "名录库条目"
        verbose_name_plural = "名录库条目"

    def __str__(self) -> str:
        return f"{self.department} · {self.target}"

    @property
    def tag_list(self) -> list[str]:
        return unpack(self.tags)


class Inspector(models.Model):
    """A person in a department's inspector directory, keyed by 身份证号 (seed 004 第二十二条), or an
    outside specialist in its expert library (专家库)."""

    class Kind(models.TextChoices):
        INSPECTOR = "inspector", "执法检查人员"
        EXPERT = "expert", "专家"

    class Gender(models.TextChoices):
        MALE = "M", "男"
        FEMALE = "F", "女"

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="inspectors")
    kind = models.CharField("人员类别", max_length=10, choices=Kind.choices, default=Kind.INSPECTOR)
    id_number = models.CharField("身份证号", max_length=18, unique=True)
    name = models.CharField("姓名", max_length=50)
    gender = models.CharField("性别", max_length=1, choices=Gender.choices, blank=True)
    phone = models.CharField("手机号码", max_length=20, blank=True)
    unit = models.CharField("所在单位", max_length=100, blank=True)
    division = models.CharField("所在部门（科室）", max_length=100, blank=True)
    level = models.CharField("用户级别", max_length=50, blank=True)
    certificate_no = models.CharField("执法证号", max_length=50, blank=True)
    certificate_authority = models.CharField("发证机关", max_length=100, blank=True)
    certificate_valid_from = models.DateField("执法证有效期起", null=True, blank=True)
    certificate_valid_to = models.DateField("执法证有效期止", null=True, blank=True)
    regions = models.CharField("执法区域", max_length=500, blank=True, help_text="行政区划代码")
    specialities = models.CharField("业务专长", max_length=500, blank=True)
    tags = models.CharField("标签", max_length=500, blank=True)
    available = models.BooleanField("可参与抽取", default=True)
    availability_note = models.CharField("不可参与原因", max_length=200, blank=True)
    active = models.BooleanField("在库", default=True)
    user = models.OneToOneField(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="inspector_profile"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["department__sort_order", "name"]
        indexes = [models.Index(fields=["department", "kind", "active"])]
        verbose_name = "执法检查人员"
        verbose_name_plural = "执法检查人员"

    def __str__(self) -> str:
        return self.name

    def certificate_valid_on(self, day: datetime.date) -> bool:
        if not self.certificate_no or not self.certificate_valid_to:
            return False
        start_ok = self.certificate_valid_from is None or self.certificate_valid_from <= day
        return start_ok and day <= self.certificate_valid_to
