"""Forms of the import pages: the upload and the apply choice."""

from django import forms
from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.template.defaultfilters import filesizeformat

from shuangsuiji.core.models import Department


class DepartmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Department) -> str:
        return f"{obj.name}（{obj.code}）"


class ImportForm(forms.Form):
    """The file and the department it goes into. Only departments the user may edit are offered."""

    department = DepartmentChoiceField(
        label="导入到",
        queryset=Department.objects.none(),
        empty_label=None,
        error_messages={"invalid_choice": "只能导入到本部门的名录库或清单。"},
    )
    file = forms.FileField(
        label="文件（.xlsx 或 .csv）",
        error_messages={"required": "请选择要导入的文件。", "empty": "上传的文件是空的。"},
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > max_upload_bytes():
            raise forms.ValidationError(too_large_message())
        return upload

    def refuse_too_large(self) -> None:
        """The upload was cut off by :class:`UploadLimit`: say so, instead of "请选择文件"."""
        self.is_valid()
        self.errors.pop("file", None)
        self.add_error("file", too_large_message())


class ApplyForm(forms.Form):
    """全部导入 (all-or-nothing) or 仅导入有效行 (valid-only, confirmed by a checkbox)."""

    MODE_ALL = "all"
    MODE_VALID = "valid"

    mode = forms.ChoiceField(choices=[(MODE_ALL, "全部导入"), (MODE_VALID, "仅导入有效行")])
    confirm = forms.BooleanField(
        required=False, label="我已核对错误报告，确认跳过无效行，只导入有效行"
    )

    def __init__(self, *args, invalid: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.invalid = invalid

    def clean(self):
        data = super().clean()
        mode = data.get("mode")
        if mode == self.MODE_ALL and self.invalid:
            raise forms.ValidationError(
                f"文件中有 {self.invalid} 行无效数据，不能全部导入。请修改文件后重新上传，或选择“仅导入有效行”。"
            )
        if mode == self.MODE_VALID and not data.get("confirm"):
            raise forms.ValidationError(
                "选择“仅导入有效行”前，请勾选确认：无效行将被跳过，不会导入。"
            )
        return data

    @property
    def valid_only(self) -> bool:
        return self.cleaned_data["mode"] == self.MODE_VALID


def max_upload_bytes() -> int:
    return settings.SHUANGSUIJI_MAX_UPLOAD_BYTES


def too_large_message() -> str:
    return f"文件过大，超过了 {filesizeformat(max_upload_bytes())} 的上限。请把数据拆分成几个文件分别导入。"


class UploadLimit(FileUploadHandler):
    """First in the upload handler chain: stops reading a file once it passes the limit, so an
    oversized upload is neither kept in memory nor written to a temporary file."""

    def __init__(self, request=None, limit: int | None = None):
        super().__init__(request)
        self.limit = max_upload_bytes() if limit is None else limit
        self.exceeded = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # The whole body is over the limit (plus room for the form fields): no need to look.
        if content_length and content_length > self.limit + 64 * 1024:
            self.exceeded = True

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        if self.exceeded:
            raise StopUpload(connection_reset=False)

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler builds the file
