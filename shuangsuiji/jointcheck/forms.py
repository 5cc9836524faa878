"""Forms parse the request into plain values; the rules are checked in services (clean_task,
clean_scheme, respond), whose errors are put back on the fields."""

import decimal
from urllib.parse import urlencode

from django import forms

from shuangsuiji.planning.forms import RISK_LABELS
from shuangsuiji.planning.models import RISK_CLASSES

from .models import JointTask, TaskDepartment

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def bp_text(mapping: dict) -> str:
    return "；".join(f"{k}={v}" for k, v in (mapping or {}).items())


class TaskForm(forms.Form):
    name = forms.CharField(label="抽查任务名称", max_length=200)
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    directed = forms.BooleanField(label="定向抽查", required=False)
    complaint_driven = forms.BooleanField(
        label="投诉举报引发（不受年度抽查次数上限限制）", required=False
    )
    unannounced = forms.BooleanField(
        label="不预先告知（抽取结果在现场检查结束后公开）", required=False
    )
    scope = forms.CharField(
        label="抽查对象范围（名录库筛选条件）",
        required=False,
        max_length=2000,
        help_text="在“检查对象名录库”中筛选后，把地址栏中“?”后的内容粘贴到这里，例如 risk=C&region=652801；留空表示牵头部门名录库全部对象。",
    )
    scope_label = forms.CharField(label="抽查对象范围说明", required=False, max_length=300)
    departments = forms.MultipleChoiceField(
        label="配合部门", required=False, choices=(), widget=forms.CheckboxSelectMultiple
    )
    items = forms.MultipleChoiceField(
        label="抽查事项（各部门已发布清单中的事项）",
        required=False,
        choices=(),
        widget=forms.CheckboxSelectMultiple,
    )
    strata_by = forms.ChoiceField(label="分层方式", choices=JointTask.StrataBy.choices)
    allocation_mode = forms.ChoiceField(label="抽取方式", choices=JointTask.AllocationMode.choices)
    ratios_text = forms.CharField(
        label="其他分层的抽查比例（标签=基点）",
        required=False,
        max_length=2000,
        help_text="按区域、行业或不分层时填写，例如 652801=500；652822=300，不分层写 全部=500（10000 基点 = 100%）。",
    )
    count_total = forms.CharField(label="抽取总数（按数量）", required=False, max_length=12)
    weights = forms.CharField(
        label="分层权重（按数量，可选）",
        required=False,
        max_length=2000,
        help_text="例如 C=2；D=4，未写的分层权重为 1。",
    )
    period_start = forms.DateField(label="计划时间（起）", widget=DATE)
    period_end = forms.DateField(label="计划时间（止）", widget=DATE)
    draw_date = forms.DateField(label="计划抽取日期", required=False, widget=DATE)

    def __init__(self, *args, departments, items, fixed_year=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departments"].choices = [(str(d.pk), d.name) for d in departments]
        self.fields["items"].choices = [
            (str(i.pk), f"{owner} · {i.code} {i.name}（{i.item_class}类）") for owner, i in items
        ]
        if fixed_year:
            self.fields["year"].disabled = True
            self.fields["year"].initial = fixed_year
        for cls in RISK_CLASSES:
            self.fields[f"ratio_{cls}"] = forms.DecimalField(
                label=f"{RISK_LABELS[cls]}（%）",
                required=False,
                min_value=0,
                max_value=100,
                decimal_places=2,
                max_digits=6,
                widget=forms.NumberInput(attrs={"step": "0.01"}),
            )

    def ratio_fields(self):
        return [self[f"ratio_{cls}"] for cls in RISK_CLASSES]

    def main_fields(self):
        skip = {"ratios_text", "count_total", "weights", "strata_by", "allocation_mode"}
        return [f for f in self if f.name not in skip and not f.name.startswith("ratio_")]

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        ratios = {}
        for cls in RISK_CLASSES:
            value = data.pop(f"ratio_{cls}", None)
            if value is not None:
                ratios[cls] = int((value * 100).to_integral_value(decimal.ROUND_HALF_UP))
        text = data.pop("ratios_text", "")
        if data.get("strata_by") != JointTask.StrataBy.RISK:
            ratios = text
        data["ratios"] = ratios
        return data

    @staticmethod
    def initial_for(task: JointTask) -> dict:
        initial = {
            "name": task.name,
            "year": task.year,
            "directed": task.directed,
            "complaint_driven": task.complaint_driven,
            "unannounced": task.unannounced,
            "scope": urlencode(task.scope, doseq=True),
            "scope_label": task.scope_label,
            "departments": [
                str(p.department_id) for p in task.participants.all() if p.role == "partner"
            ],
            "items": [str(i.pk) for i in task.items.all()],
            "strata_by": task.strata_by,
            "allocation_mode": task.allocation_mode,
            "count_total": task.count_total or "",
            "weights": bp_text(task.weights),
            "period_start": task.period_start,
            "period_end": task.period_end,
            "draw_date": task.draw_date,
        }
        if task.strata_by == JointTask.StrataBy.RISK:
            for cls in RISK_CLASSES:
                if cls in task.ratios:
                    initial[f"ratio_{cls}"] = decimal.Decimal(task.ratios[cls]) / 100
        else:
            initial["ratios_text"] = bp_text(task.ratios)
        return initial


def put_errors(form: forms.Form, errors: dict[str, str]) -> None:
    """Service errors onto the form: on the field of the same name, else on the form."""
    for key, message in errors.items():
        if key == "ratios" and "ratios_text" in form.fields:
            form.add_error(None, message)
        elif key in form.fields:
            form.add_error(key, message)
        else:
            form.add_error(None, message)


class SchemeForm(forms.Form):
    inspect_start = forms.DateField(label="检查开始日期", required=False, widget=DATE)
    inspect_end = forms.DateField(label="检查结束日期", required=False, widget=DATE)
    batches = forms.CharField(label="批次数", max_length=6, initial="1")
    targets_per_team = forms.CharField(
        label="每组检查对象数",
        max_length=6,
        initial="1",
        help_text="大于 1 时，同一区域的对象编入同一检查组",
    )
    rotation_rule = forms.BooleanField(
        label="轮换规则：不派上次检查过同一对象的执法人员", required=False, initial=True
    )
    required_specialities = forms.CharField(label="所需业务专长", required=False, max_length=300)
    scheme_note = forms.CharField(
        label="实施方案说明", required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args, active: list[TaskDepartment], **kwargs):
        super().__init__(*args, **kwargs)
        self.active = active
        for p in active:
            self.fields[f"inspectors_{p.department.code}"] = forms.CharField(
                label=f"{p.department.name}每组派出人数",
                max_length=4,
                initial=str(p.inspectors_per_team),
            )

    def inspector_fields(self):
        return [self[f"inspectors_{p.department.code}"] for p in self.active]

    def main_fields(self):
        return [f for f in self if not f.name.startswith("inspectors_")]

    def service_data(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if not k.startswith("inspectors_")}
        data["inspectors_per_team"] = {
            p.department.code: self.cleaned_data.get(f"inspectors_{p.department.code}")
            for p in self.active
        }
        return data

    @staticmethod
    def initial_for(task: JointTask) -> dict:
        return {
            "inspect_start": task.inspect_start,
            "inspect_end": task.inspect_end,
            "batches": str(task.batches),
            "targets_per_team": str(task.targets_per_team),
            "rotation_rule": task.rotation_rule,
            "required_specialities": task.required_specialities,
            "scheme_note": task.scheme_note,
        }
