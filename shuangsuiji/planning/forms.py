"""Forms parse the request into plain values; the rules are checked in services.clean_line."""

import decimal

from django import forms

from shuangsuiji.core.models import Department

from .models import RISK_CLASSES, PlanLine

RISK_LABELS = {
    "A": "A类（低）",
    "B": "B类（一般）",
    "C": "C类（较高）",
    "D": "D类（高）",
    "U": "未分类",
}


class PlanLineForm(forms.Form):
    plan_name = forms.CharField(label="抽查计划名称", max_length=200)
    task_name = forms.CharField(label="抽查任务名称", max_length=200)
    kind = forms.ChoiceField(label="抽查类型", choices=PlanLine.Kind.choices)
    directed = forms.TypedChoiceField(
        label="定向/不定向",
        choices=[("0", "不定向"), ("1", "定向")],
        coerce=lambda v: v == "1",
        initial="0",
    )
    scope = forms.CharField(
        label="抽查对象范围（名录库筛选条件）",
        required=False,
        max_length=2000,
        help_text="在“检查对象名录库”中筛选后，把地址栏中“?”后的内容粘贴到这里，例如 risk=C&region=652801；留空表示本部门名录库全部对象。",
    )
    scope_label = forms.CharField(label="抽查对象范围说明", required=False, max_length=300)
    items = forms.MultipleChoiceField(
        label="抽查事项", choices=(), widget=forms.CheckboxSelectMultiple
    )
    credit_linked = forms.BooleanField(
        label="关联信用风险分类（不同风险等级比例不同）", required=False
    )
    initiator = forms.ModelChoiceField(label="检查发起机关", queryset=Department.objects.none())
    joint_departments = forms.ModelMultipleChoiceField(
        label="联合机关",
        queryset=Department.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    draw_date = forms.DateField(
        label="抽取日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    period_start = forms.DateField(
        label="计划时间（起）", widget=forms.DateInput(attrs={"type": "date"})
    )
    period_end = forms.DateField(
        label="计划时间（止）", widget=forms.DateInput(attrs={"type": "date"})
    )
    lead_division = forms.CharField(label="牵头处室", required=False, max_length=100)
    support_divisions = forms.CharField(label="配合处室", required=False, max_length=200)

    def __init__(self, *args, plan, items, **kwargs):
        super().__init__(*args, **kwargs)
        departments = Department.objects.filter(
            jurisdiction_id=plan.department.jurisdiction_id, active=True
        )
        self.fields["initiator"].queryset = departments
        self.fields["initiator"].initial = plan.department.pk
        self.fields["joint_departments"].queryset = departments.exclude(pk=plan.department.pk)
        self.fields["items"].choices = [
            (str(item.pk), f"{item.code} {item.name}（{item.item_class}类）") for item in items
        ]
        for cls in RISK_CLASSES:
            self.fields[f"ratio_{cls}"] = forms.DecimalField(
                label=f"{RISK_LABELS[cls]}抽查比例（%）",
                required=False,
                decimal_places=2,
                max_digits=6,
                widget=forms.NumberInput(attrs={"step": "0.01"}),
            )

    def ratio_fields(self):
        return [self[f"ratio_{cls}"] for cls in RISK_CLASSES]

    def service_data(self) -> dict:
        """The cleaned values in the shape services.clean_line expects (ratios in basis points)."""
        data = dict(self.cleaned_data)
        ratios = {}
        for cls in RISK_CLASSES:
            value = data.pop(f"ratio_{cls}", None)
            if value is not None:
                ratios[cls] = int((value * 100).to_integral_value(decimal.ROUND_HALF_UP))
        data["ratios"] = ratios
        data["initiator"] = data["initiator"].pk if data.get("initiator") else None
        data["joint_departments"] = [d.pk for d in data.get("joint_departments") or []]
        return data

    @staticmethod
    def initial_for(line: PlanLine) -> dict:
        from urllib.parse import urlencode

        initial = {
            "plan_name": line.plan_name,
            "task_name": line.task_name,
            "kind": line.kind,
            "directed": "1" if line.directed else "0",
            "scope": urlencode(line.scope, doseq=True),
            "scope_label": line.scope_label,
            "items": [str(pk) for pk in line.items.values_list("pk", flat=True)],
            "credit_linked": line.credit_linked,
            "initiator": line.initiator_id,
            "joint_departments": list(line.joint_departments.values_list("pk", flat=True)),
            "draw_date": line.draw_date,
            "period_start": line.period_start,
            "period_end": line.period_end,
            "lead_division": line.lead_division,
            "support_divisions": line.support_divisions,
        }
        for cls in RISK_CLASSES:
            if cls in line.ratios:
                initial[f"ratio_{cls}"] = decimal.Decimal(line.ratios[cls]) / 100
        return initial


class SettingsForm(forms.Form):
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    department_deadline = forms.DateField(
        label="部门报送截止日期", widget=forms.DateInput(attrs={"type": "date"})
    )
    office_deadline = forms.DateField(
        label="联席办公布截止日期", widget=forms.DateInput(attrs={"type": "date"})
    )
    credit_linked_min_percent = forms.IntegerField(
        label="关联信用规则任务最低占比（%）", min_value=0, max_value=100
    )
    a_class_max_bp = forms.IntegerField(
        label="A类事项抽查比例上限（基点，1000 = 10%）", min_value=0, max_value=10000
    )
