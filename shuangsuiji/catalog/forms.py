"""The item form. Field checks live in :func:`services.clean_item_fields`, shared with the import,
so a form post and an imported row get the same Chinese messages."""

from django import forms

from . import services
from .models import Item

_TEXT = {"class": "form-control"}


class ItemForm(forms.Form):
    category = forms.CharField(
        label="抽查类别", required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    name = forms.CharField(label="检查事项", required=False, widget=forms.TextInput(attrs=_TEXT))
    target_type = forms.CharField(
        label="检查对象", required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    item_type = forms.CharField(
        label="事项类别",
        required=False,
        widget=forms.Select(
            choices=[("", "请选择")] + Item.ItemType.choices, attrs={"class": "form-select"}
        ),
    )
    item_class = forms.CharField(
        label="事项分类",
        required=False,
        widget=forms.Select(
            choices=[("", "请选择")] + Item.ItemClass.choices, attrs={"class": "form-select"}
        ),
        help_text="A类：一般检查事项，年度抽查比例10%以下；B类：重点检查事项，比例10%以上；"
        "C类：多个部门交叉监管的联合检查事项。",
    )
    # A plain Field so unknown values reach the service check instead of Django's generic message.
    methods = forms.Field(
        label="检查方式",
        required=False,
        widget=forms.CheckboxSelectMultiple(
            choices=[(m, m) for m in services.METHODS], attrs={"class": "form-check-input"}
        ),
    )
    subject = forms.CharField(label="检查主体", required=False, widget=forms.TextInput(attrs=_TEXT))
    frequency = forms.CharField(
        label="检查频次", required=False, widget=forms.TextInput(attrs=_TEXT)
    )
    content = forms.CharField(
        label="检查内容", required=False, widget=forms.Textarea(attrs={**_TEXT, "rows": 3})
    )
    basis = forms.CharField(
        label="检查依据", required=False, widget=forms.Textarea(attrs={**_TEXT, "rows": 3})
    )

    # Strip=False: the service strips and checks lengths itself.
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, f in self.fields.items():
            if isinstance(f, forms.CharField):
                f.strip = False
            if name in services.REQUIRED_FIELDS:
                f.label_suffix = ""
                f.widget.attrs["aria-required"] = "true"

    @classmethod
    def initial_from(cls, item: Item) -> dict:
        data = {name: getattr(item, name) for name, _ in services.ITEM_FIELDS}
        data["methods"] = item.method_list
        return data

    def clean(self):
        data = super().clean()
        _, errors = services.clean_item_fields(data)
        self.add_service_errors(errors)
        return data

    def add_service_errors(self, errors: dict[str, str]) -> None:
        for field, message in errors.items():
            self.add_error(field if field in self.fields else None, message)


class PublishForm(forms.Form):
    note = forms.CharField(
        label="调整说明",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={**_TEXT, "rows": 3}),
        help_text="第2版起必填：写明新增、修改、删除了哪些事项及依据。",
        error_messages={"max_length": "调整说明不能超过500个字。"},
    )
