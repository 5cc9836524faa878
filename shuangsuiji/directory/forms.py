"""Forms of the 两库 pages: they check types and formats and give Chinese messages; the rules that
need the database (permissions, uniqueness, stale edits) are in services.py."""

from django import forms
from django.utils.dateparse import parse_datetime

from . import identifiers
from .industry import normalize_industry
from .models import Inspector, Target, unpack


class StyledForm(forms.Form):
    """Adds Bootstrap's classes to the widgets."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.HiddenInput):
                continue
            css = (
                "form-select"
                if isinstance(widget, forms.Select | forms.SelectMultiple)
                else "form-control"
            )
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class VersionField(forms.CharField):
    """The ``updated_at`` the form was rendered with (hidden): the services refuse the save if
    the record has changed since."""

    widget = forms.HiddenInput

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
        if parsed is None:
            raise forms.ValidationError("表单版本信息无效，请刷新后重试")
        return parsed


def version_value(obj) -> str:
    return obj.updated_at.isoformat() if obj is not None and obj.updated_at else ""


class VersionedForm(StyledForm):
    version = VersionField(
        required=True, error_messages={"required": "表单缺少版本信息，请刷新后重试"}
    )


def _date_widget():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class TargetFieldsMixin(StyledForm):
    """The master fields of a target (the template's columns plus region, industry, risk, flags)."""

    name = forms.CharField(label="名称", max_length=200)
    object_kind = forms.ChoiceField(label="对象类别", choices=Target.ObjectKind.choices)
    entity_type = forms.CharField(label="市场主体类型", max_length=100, required=False)
    registration_authority = forms.CharField(label="登记机关", max_length=100, required=False)
    legal_rep = forms.CharField(label="法定代表人/负责人", max_length=100, required=False)
    address = forms.CharField(label="住所", max_length=300, required=False)
    reg_status = forms.ChoiceField(label="登记状态", choices=Target.RegStatus.choices)
    established = forms.DateField(
        label="成立日期", required=False, widget=_date_widget(),
        error_messages={"invalid": "成立日期格式不正确，应如 2015-06-30"},
    )  # fmt: skip
    business_scope = forms.CharField(
        label="经营范围", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    region = forms.ModelChoiceField(
        label="所属区域", queryset=None, required=False, empty_label="（未填）"
    )
    industry = forms.CharField(
        label="国民经济行业代码",
        max_length=5,
        required=False,
        help_text="GB/T 4754，如 F、F52、F5211 或 5211",
    )
    risk_class = forms.ChoiceField(
        label="信用风险分类", choices=Target.RiskClass.choices, initial="U"
    )
    abnormal = forms.BooleanField(label="列入经营异常名录", required=False)
    serious_illegal = forms.BooleanField(label="列入严重违法失信名单", required=False)
    complaints = forms.IntegerField(
        label="投诉举报次数", min_value=0, max_value=1_000_000, initial=0, required=False,
        error_messages={"invalid": "投诉举报次数应为整数", "min_value": "投诉举报次数不能为负数"},
    )  # fmt: skip

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        from shuangsuiji.core.models import Jurisdiction

        self.fields["region"].queryset = Jurisdiction.objects.filter(pk__in=[r.pk for r in regions])
        self.fields["region"].label_from_instance = lambda j: f"{j.name}（{j.code}）"

    def clean_industry(self):
        try:
            return normalize_industry(self.cleaned_data.get("industry", ""))
        except ValueError as exc:
            raise forms.ValidationError(
                "国民经济行业代码不正确：应为门类字母（A–T）或行业代码，如 F、F52、5211"
            ) from exc

    def clean_complaints(self):
        return self.cleaned_data.get("complaints") or 0

    def target_data(self) -> dict:
        from .services import TARGET_FIELDS

        return {k: self.cleaned_data[k] for k in TARGET_FIELDS if k in self.cleaned_data}


class TargetCodeForm(StyledForm):
    """Step 1 of 入库: the code; a known code is linked to the department at once."""

    code = forms.CharField(
        label="统一社会信用代码/注册号/对象编码", max_length=80,
        help_text="18位统一社会信用代码、15位注册号，或非市场主体的对象编码",
    )  # fmt: skip
    tags = forms.CharField(
        label="标签（子库）", max_length=500, required=False, help_text="多个标签用逗号或顿号分隔"
    )

    def clean_code(self):
        try:
            self.code_kind, code = identifiers.classify_target_code(self.cleaned_data["code"])
        except identifiers.InvalidCode as exc:
            raise forms.ValidationError(exc.message) from exc
        return code


class TargetCreateForm(TargetFieldsMixin, TargetCodeForm):
    """Step 2 of 入库: a code new to the master directory, with its registration facts."""

    field_order = ["code", "name", "object_kind"]


class TargetEditForm(TargetFieldsMixin, VersionedForm):
    @classmethod
    def for_target(cls, target: Target, *, regions):
        initial = {f: getattr(target, f) for f in TargetFieldsMixin.base_fields if f != "region"}
        initial["region"] = target.region_id
        initial["version"] = version_value(target)
        return cls(initial=initial, regions=regions)


class TagsForm(VersionedForm):
    tags = forms.CharField(
        label="标签（子库）", max_length=500, required=False, help_text="多个标签用逗号或顿号分隔"
    )


class RemoveForm(VersionedForm):
    reason = forms.CharField(
        label="出库原因", max_length=200, error_messages={"required": "请填写出库原因。"},
        help_text="如：已注销、已迁出、不再属于本部门监管范围",
    )  # fmt: skip


class DeactivateForm(VersionedForm):
    reason = forms.CharField(
        label="停用原因", max_length=200, error_messages={"required": "请填写停用原因。"}
    )


class InspectorForm(StyledForm):
    kind = forms.ChoiceField(label="人员类别", choices=Inspector.Kind.choices)
    id_number = forms.CharField(label="身份证号", max_length=30)
    name = forms.CharField(label="姓名", max_length=50)
    gender = forms.ChoiceField(
        label="性别", choices=[("", "（按身份证号）"), *Inspector.Gender.choices], required=False
    )
    phone = forms.CharField(label="手机号码", max_length=30, required=False)
    unit = forms.CharField(label="所在单位", max_length=100, required=False)
    division = forms.CharField(label="所在部门（科室）", max_length=100, required=False)
    level = forms.CharField(label="用户级别", max_length=50, required=False)
    certificate_no = forms.CharField(label="执法证号", max_length=50, required=False)
    certificate_authority = forms.CharField(label="发证机关", max_length=100, required=False)
    certificate_valid_from = forms.DateField(
        label="执法证有效期起", required=False, widget=_date_widget(),
        error_messages={"invalid": "日期格式不正确，应如 2024-01-01"},
    )  # fmt: skip
    certificate_valid_to = forms.DateField(
        label="执法证有效期止", required=False, widget=_date_widget(),
        error_messages={"invalid": "日期格式不正确，应如 2029-12-31"},
    )  # fmt: skip
    regions = forms.MultipleChoiceField(
        label="执法区域", required=False, widget=forms.SelectMultiple(attrs={"size": 5})
    )
    specialities = forms.CharField(
        label="业务专长", max_length=500, required=False, help_text="多个用逗号或顿号分隔"
    )
    tags = forms.CharField(
        label="标签", max_length=500, required=False, help_text="如检查方式：实地核查、书面检查"
    )
    available = forms.BooleanField(label="可参与抽取", required=False, initial=True)
    availability_note = forms.CharField(label="不可参与原因", max_length=200, required=False)

    def __init__(self, *args, regions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["regions"].choices = [(r.code, f"{r.name}（{r.code}）") for r in regions]

    def clean_id_number(self):
        try:
            return identifiers.validate_id_number(self.cleaned_data["id_number"])
        except identifiers.InvalidCode as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean_phone(self):
        phone = self.cleaned_data.get("phone", "")
        if not phone.strip():
            return ""
        try:
            return identifiers.validate_phone(phone)
        except identifiers.InvalidCode as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean(self):
        data = super().clean()
        start, end = data.get("certificate_valid_from"), data.get("certificate_valid_to")
        if start and end and end < start:
            self.add_error("certificate_valid_to", "执法证有效期止不能早于有效期起")
        if not data.get("available") and not (data.get("availability_note") or "").strip():
            self.add_error("availability_note", "不可参与抽取时请填写原因")
        return data

    def inspector_data(self) -> dict:
        return dict(self.cleaned_data)


class InspectorEditForm(InspectorForm, VersionedForm):
    @classmethod
    def for_inspector(cls, inspector: Inspector, *, regions):
        initial = {f: getattr(inspector, f) for f in InspectorForm.base_fields}
        for key in ("specialities", "tags"):
            initial[key] = "、".join(unpack(getattr(inspector, key)))
        initial["regions"] = unpack(inspector.regions)
        initial["version"] = version_value(inspector)
        return cls(initial=initial, regions=regions)

    def inspector_data(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        return data
