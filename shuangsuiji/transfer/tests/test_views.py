"""The import/export pages: who may see and do what, and the whole upload → preview → apply flow
through the views (the background jobs run with ``jobs.run_pending()``)."""

import csv
import datetime
import io
import threading
from datetime import timedelta

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import StopUpload
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from shuangsuiji.core import jobs
from shuangsuiji.core.models import AuditEntry, Job
from shuangsuiji.directory.identifiers import make_id_number, make_uscc
from shuangsuiji.directory.models import DirectoryEntry, Inspector, Target, pack
from shuangsuiji.transfer import schemas, services
from shuangsuiji.transfer.models import ImportBatch

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TARGET_HEADINGS = [
    "统一社会信用代码/注册号",
    "名称",
    "所属区域(行政区划代码)",
    "信用风险分类",
    "标签",
]
KINDS = ["targets", "inspectors", "items"]


# --- helpers -----------------------------------------------------------------------------------


def uscc(n: int) -> str:
    return make_uscc("9", "1", "652801", f"MA7{n:05d}")


def xlsx_bytes(rows: list[list], *, headings=TARGET_HEADINGS, sheet="检查对象名录库") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(headings)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def good_rows(n: int = 3, start: int = 1) -> list[list]:
    return [
        [uscc(i), f"库尔勒测试商贸有限公司{i}", "652801", "B", "食品经营"]
        for i in range(start, start + n)
    ]


def bad_row() -> list:
    code = uscc(99)
    broken = code[:-1] + ("0" if code[-1] != "0" else "1")  # wrong check character
    return [broken, "校验位错误的公司", "652801", "B", ""]


def upload(client: Client, data: bytes, *, name="名录.xlsx", kind="targets", department="SCJGJ"):
    url = reverse("transfer:upload", args=[kind]) + f"?department={department}"
    # The department choice is the select's value (its pk); take it from the form page. The
    # fields come before the file, as in the browser's form.
    page = client.get(url)
    form = {"department": page.context["form"]["department"].value()}
    form["file"] = SimpleUploadedFile(name, data)
    return client.post(url, form)


def batch_of(response) -> ImportBatch:
    assert response.status_code == 302, getattr(response, "content", b"")[:2000]
    return ImportBatch.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[-1]))


def previewed_batch(
    org, rows, *, user=None, kind="targets", headings=TARGET_HEADINGS
) -> ImportBatch:
    user = user or org.scjgj_admin
    batch = services.create_batch(
        user=user,
        department=org.scjgj,
        kind=kind,
        filename="名录.xlsx",
        fileobj_or_path=io.BytesIO(xlsx_bytes(rows, headings=headings)),
    )
    services.enqueue_preview(batch)
    jobs.run_pending()
    batch.refresh_from_db()
    return batch


def text(response) -> str:
    return response.content.decode()


def workbook_rows(content: bytes) -> list[tuple]:
    wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [
        tuple("" if v is None else v for v in row)
        for row in wb.worksheets[0].iter_rows(values_only=True)
    ]


# --- who may see what --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, status",
    [
        ("office", 200),
        ("scjgj_admin", 200),
        ("scjgj_head", 200),
        ("gaj_admin", 200),
        ("inspector", 200),
        ("auditor", 200),
    ],
)
def test_index_opens_for_every_role(org, role, status):
    assert org.client(getattr(org, role)).get(reverse("transfer:imports")).status_code == status


def test_index_anonymous_goes_to_login(org):
    response = Client().get(reverse("transfer:imports"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_index_lists_only_batches_the_user_may_see(org):
    batch = previewed_batch(org, good_rows(2))
    url = reverse("transfer:imports")
    detail = reverse("transfer:batch", args=[batch.pk])
    for user in (org.scjgj_admin, org.scjgj_head, org.office, org.auditor):
        assert detail in text(org.client(user).get(url)), user
    for user in (org.gaj_admin, org.inspector):
        assert detail not in text(org.client(user).get(url)), user


def test_index_export_forms(org):
    url = reverse("transfer:imports")
    page = text(org.client(org.auditor).get(url))
    assert 'action="/transfer/export/targets/"' in page
    assert '<option value="GAJ"' in page and '<option value="SCJGJ"' in page
    page = text(org.client(org.gaj_admin).get(url))
    assert '<input type="hidden" name="department" value="GAJ">' in page
    assert '<option value="SCJGJ"' not in page


def test_index_offers_import_only_to_department_editors(org):
    url = reverse("transfer:imports")
    upload_url = reverse("transfer:upload", args=["targets"])
    assert f"{upload_url}?department=SCJGJ" in text(org.client(org.scjgj_admin).get(url))
    assert f"{upload_url}?department=GAJ" in text(org.client(org.gaj_admin).get(url))
    for user in (org.office, org.auditor, org.inspector):
        assert upload_url not in text(org.client(user).get(url)), user


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "role, status",
    [
        ("scjgj_admin", 200),
        ("scjgj_head", 200),
        ("gaj_admin", 403),  # another department's data
        ("office", 403),  # the office does not write a department's private data
        ("auditor", 403),
        ("inspector", 403),
    ],
)
def test_upload_form_permissions(org, kind, role, status):
    response = org.client(getattr(org, role)).get(
        reverse("transfer:upload", args=[kind]) + "?department=SCJGJ"
    )
    assert response.status_code == status
    if status == 200:
        assert reverse("transfer:template", args=[kind]) in text(response)
    else:
        assert "无权访问" in text(response)


def test_upload_form_without_department_is_the_users_own(org):
    response = org.client(org.gaj_admin).get(reverse("transfer:upload", args=["targets"]))
    assert response.status_code == 200
    assert response.context["department"] == org.gaj
    assert list(response.context["form"].fields["department"].queryset) == [org.gaj]


def test_upload_form_anonymous_unknown_kind_unknown_department(org):
    url = reverse("transfer:upload", args=["targets"])
    response = Client().get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert (
        org.client(org.scjgj_admin).get(reverse("transfer:upload", args=["cats"])).status_code
        == 404
    )
    assert org.client(org.scjgj_admin).get(url + "?department=NOPE").status_code == 404


def test_post_to_another_department_is_refused_and_stores_nothing(org):
    """A gaj_admin cannot smuggle SCJGJ's pk into the form."""
    url = reverse("transfer:upload", args=["targets"])
    response = org.client(org.gaj_admin).post(
        url,
        {
            "file": SimpleUploadedFile("a.xlsx", xlsx_bytes(good_rows(1))),
            "department": org.scjgj.pk,
        },
    )
    assert response.status_code == 200
    assert "只能导入到本部门" in text(response)
    response = org.client(org.gaj_admin).post(
        url + "?department=SCJGJ",
        {
            "file": SimpleUploadedFile("a.xlsx", xlsx_bytes(good_rows(1))),
            "department": org.scjgj.pk,
        },
    )
    assert response.status_code == 403
    assert not ImportBatch.objects.exists()


@pytest.mark.parametrize(
    "role, status",
    [
        ("scjgj_admin", 200),
        ("scjgj_head", 200),
        ("office", 200),
        ("auditor", 200),
        ("gaj_admin", 403),  # another department's batch
        ("inspector", 403),
    ],
)
def test_batch_page_permissions(org, role, status):
    batch = previewed_batch(org, [*good_rows(2), bad_row()])
    client = org.client(getattr(org, role))
    response = client.get(reverse("transfer:batch", args=[batch.pk]))
    assert response.status_code == status
    assert client.get(reverse("transfer:errors", args=[batch.pk])).status_code == status
    if status == 200:
        can_apply = role in ("scjgj_admin", "scjgj_head")
        assert ("仅导入有效行" in text(response)) == can_apply
    else:
        assert "无权访问" in text(response)


def test_batch_of_another_jurisdiction_is_not_found(org):
    from shuangsuiji.core.models import Department, Jurisdiction, User

    other = Jurisdiction.objects.create(code="652900", name="阿克苏地区", level="prefecture")
    department = Department.objects.create(
        jurisdiction=other, code="SCJGJ", name="阿克苏地区市场监督管理局"
    )
    users = [
        User.objects.create_user(
            username=f"aks_{role}", role=role, jurisdiction=other, department=department
        )
        for role in (User.Role.DEPT_ADMIN, User.Role.OFFICE)
    ]
    batch = previewed_batch(org, good_rows(1))
    for user in users:
        assert org.client(user).get(reverse("transfer:batch", args=[batch.pk])).status_code == 404
        assert reverse("transfer:batch", args=[batch.pk]) not in text(
            org.client(user).get(reverse("transfer:imports"))
        )


@pytest.mark.parametrize(
    "role, status", [("office", 403), ("auditor", 403), ("gaj_admin", 403), ("inspector", 403)]
)
def test_apply_refused_to_others(org, role, status):
    batch = previewed_batch(org, good_rows(2))
    response = org.client(getattr(org, role)).post(
        reverse("transfer:apply", args=[batch.pk]), {"mode": "all"}
    )
    assert response.status_code == status
    jobs.run_pending()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED
    assert not Target.objects.exists()


def test_batch_pages_anonymous_go_to_login(org):
    batch = previewed_batch(org, good_rows(1))
    for name in ("transfer:batch", "transfer:errors", "transfer:batch_progress"):
        response = Client().get(reverse(name, args=[batch.pk]))
        assert response.status_code == 302 and "/login/" in response["Location"], name
    response = Client().post(reverse("transfer:apply", args=[batch.pk]), {"mode": "all"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    for name in ("transfer:template", "transfer:export"):
        response = Client().get(reverse(name, args=["targets"]))
        assert response.status_code == 302 and "/login/" in response["Location"], name


def test_csrf_is_enforced(org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.scjgj_admin)
    url = reverse("transfer:upload", args=["targets"])
    response = client.post(
        url,
        {
            "file": SimpleUploadedFile("a.xlsx", xlsx_bytes(good_rows(1))),
            "department": org.scjgj.pk,
        },
    )
    assert response.status_code == 403
    batch = previewed_batch(org, good_rows(1))
    assert (
        client.post(reverse("transfer:apply", args=[batch.pk]), {"mode": "all"}).status_code == 403
    )
    assert ImportBatch.objects.count() == 1


# --- the flow ----------------------------------------------------------------------------------


def test_good_file_upload_preview_apply(org):
    client = org.client(org.scjgj_admin)
    response = upload(client, xlsx_bytes(good_rows(3)))
    batch = batch_of(response)
    assert (
        batch.department == org.scjgj and batch.kind == "targets" and batch.user == org.scjgj_admin
    )
    assert batch.job is not None and batch.job.status == Job.Status.QUEUED

    # Before the worker ran: the self-polling progress bar, no counts yet.
    page = text(client.get(reverse("transfer:batch", args=[batch.pk])))
    assert 'id="batch-progress"' in page
    assert reverse("transfer:batch_progress", args=[batch.pk]) in page
    assert "全部导入" not in page

    assert jobs.run_pending() == 1
    response = client.get(reverse("transfer:batch", args=[batch.pk]))
    page = text(response)
    assert 'id="batch-progress"' not in page
    counts = response.context["batch"].counts
    assert counts == {
        "total": 3,
        "new": 3,
        "changed": 0,
        "unchanged": 0,
        "removed": 0,
        "invalid": 0,
    }
    assert 'data-count="new">3<' in page
    assert "全部导入" in page and "仅导入有效行" not in page  # nothing invalid to skip
    assert not Target.objects.exists()  # the preview writes nothing

    response = client.post(reverse("transfer:apply", args=[batch.pk]), {"mode": "all"})
    assert response.status_code == 302
    assert 'id="batch-progress"' in text(client.get(reverse("transfer:batch", args=[batch.pk])))
    assert jobs.run_pending() == 1

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED
    assert Target.objects.count() == 3
    assert DirectoryEntry.objects.filter(department=org.scjgj, active=True).count() == 3
    assert AuditEntry.objects.filter(
        action=AuditEntry.Action.IMPORT, object_id=str(batch.pk)
    ).exists()
    page = text(client.get(reverse("transfer:batch", args=[batch.pk])))
    assert "已导入" in page and reverse("directory:targets") in page
    assert 'data-count="new">3<' in page

    # Applying again is refused and changes nothing.
    response = client.post(reverse("transfer:apply", args=[batch.pk]), {"mode": "all"}, follow=True)
    assert "不能再次导入" in text(response)
    assert jobs.run_pending() == 0


def test_second_apply_while_queued_is_refused(org):
    batch = previewed_batch(org, good_rows(2))
    client = org.client(org.scjgj_admin)
    client.post(reverse("transfer:apply", args=[batch.pk]), {"mode": "all"})
    response = client.post(reverse("transfer:apply", args=[batch.pk]), {"mode": "all"}, follow=True)
    assert "不能再次导入" in text(response)
    assert Job.objects.filter(kind="import.apply").count() == 1
    jobs.run_pending()
    assert Target.objects.count() == 2


def test_progress_endpoint(org):
    client = org.client(org.scjgj_admin)
    batch = batch_of(upload(client, xlsx_bytes(good_rows(2))))
    url = reverse("transfer:batch_progress", args=[batch.pk])
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200 and 'hx-trigger="every 1s"' in text(response)
    assert client.get(url).status_code == 302  # not htmx: the page itself
    jobs.run_pending()
    response = client.get(url, headers={"HX-Request": "true"})
    assert response["HX-Refresh"] == "true"
    assert org.client(org.gaj_admin).get(url, headers={"HX-Request": "true"}).status_code == 403


def _formula_file() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(TARGET_HEADINGS)
    ws.append([uscc(1), "公司", "652801", "B", ""])
    ws["E2"] = '=CONCATENATE("食","品")'
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("heads.xlsx", xlsx_bytes(good_rows(1), headings=["代码", "公司名字", "地址"]), "列"),
        ("picture.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "不是电子表格"),
        ("formula.xlsx", _formula_file(), "公式"),
    ],
    ids=["wrong-headings", "not-a-spreadsheet", "formulas"],
)
def test_bad_file_is_rejected_with_a_chinese_message(org, name, data, message):
    client = org.client(org.scjgj_admin)
    batch = batch_of(upload(client, data, name=name))
    jobs.run_pending()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.REJECTED
    response = client.get(reverse("transfer:batch", args=[batch.pk]))
    page = text(response)
    assert 'id="rejected"' in page and message in page
    assert batch.message in page
    # Nothing else: no counts, no apply buttons, no error report.
    for absent in ('id="counts"', "全部导入", "仅导入有效行", 'id="error-report"'):
        assert absent not in page
    assert (
        client.post(
            reverse("transfer:apply", args=[batch.pk]), {"mode": "valid", "confirm": "on"}
        ).status_code
        == 302
    )
    assert jobs.run_pending() == 0
    assert not Target.objects.exists() and not DirectoryEntry.objects.exists()


def test_invalid_rows_all_refused_valid_only_applies(org):
    client = org.client(org.scjgj_admin)
    rows = [*good_rows(2), bad_row(), [uscc(5), "", "652801", "B", ""]]
    batch = batch_of(upload(client, xlsx_bytes(rows)))
    jobs.run_pending()
    url = reverse("transfer:batch", args=[batch.pk])
    response = client.get(url)
    page = text(response)
    batch = response.context["batch"]
    assert (batch.total, batch.new, batch.invalid) == (4, 2, 2)
    assert 'data-count="invalid">2<' in page
    # The error table: row number (as in Excel), column, value, what is wrong.
    errors = response.context["errors"]
    assert {e["row"] for e in errors} == {4, 5}
    assert (
        'id="errors"' in page
        and "统一社会信用代码/注册号" in page
        and bad_row()[0] in page
        and "名称" in page
    )
    # 全部导入 is disabled with the reason; 仅导入有效行 needs the checkbox.
    assert "不能全部导入" in page
    assert 'id="confirm-valid"' in page

    apply = reverse("transfer:apply", args=[batch.pk])
    response = client.post(apply, {"mode": "all"})
    assert response.status_code == 400 and "不能全部导入" in text(response)
    response = client.post(apply, {"mode": "valid"})
    assert response.status_code == 400 and "请勾选确认" in text(response)
    assert not Job.objects.filter(kind="import.apply").exists()
    assert jobs.run_pending() == 0 and not Target.objects.exists()

    response = client.post(apply, {"mode": "valid", "confirm": "on"})
    assert response.status_code == 302
    jobs.run_pending()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.APPLIED and batch.valid_only
    assert sorted(Target.objects.values_list("code", flat=True)) == sorted(
        r[0] for r in good_rows(2)
    )
    page = text(client.get(url))
    assert "仅导入有效行" in page and "已跳过" in page


def test_error_report_download(org):
    batch = previewed_batch(org, [*good_rows(1), bad_row()])
    response = org.client(org.scjgj_admin).get(reverse("transfer:errors", args=[batch.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert "filename*=utf-8''" in response["Content-Disposition"]
    rows = workbook_rows(b"".join(response.streaming_content))
    assert rows[0][:4] == ("行号", "列", "填写的值", "错误说明")
    assert (
        rows[1][0] == 3 and rows[1][1] == "统一社会信用代码/注册号" and rows[1][2] == bad_row()[0]
    )


def test_no_error_report_for_a_clean_file(org):
    batch = previewed_batch(org, good_rows(1))
    client = org.client(org.scjgj_admin)
    assert 'id="error-report"' not in text(client.get(reverse("transfer:batch", args=[batch.pk])))
    assert client.get(reverse("transfer:errors", args=[batch.pk])).status_code == 404


INSPECTOR_HEADINGS = ["身份证号", "姓名", "手机号码", "执法证号"]


def test_inspector_errors_are_masked_for_the_office(org):
    good = make_id_number("652801", datetime.date(1990, 1, 1), "123")
    broken = good[:-1] + ("0" if good[-1] != "0" else "1")
    rows = [
        [good, "李四", "13899001234", "65280012345"],
        [broken, "王五", "13899001235", "65280012346"],
    ]
    batch = previewed_batch(org, rows, kind="inspectors", headings=INSPECTOR_HEADINGS)
    assert batch.invalid == 1
    url = reverse("transfer:batch", args=[batch.pk])
    assert broken in text(org.client(org.scjgj_admin).get(url))
    office_page = text(org.client(org.office).get(url))
    assert broken not in office_page and broken[:6] + "********" + broken[-4:] in office_page
    assert 'id="error-report"' not in office_page
    assert (
        org.client(org.office).get(reverse("transfer:errors", args=[batch.pk])).status_code == 403
    )
    assert (
        org.client(org.scjgj_admin).get(reverse("transfer:errors", args=[batch.pk])).status_code
        == 200
    )


@override_settings(SHUANGSUIJI_MAX_UPLOAD_BYTES=1000)
def test_upload_over_the_size_limit_is_refused(org):
    client = org.client(org.scjgj_admin)
    data = xlsx_bytes(good_rows(50))
    assert len(data) > 1000
    response = upload(client, data)
    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == ["file"]
    assert "文件过大" in form.errors["file"][0] and "1000" in form.errors["file"][0]
    assert not ImportBatch.objects.exists()


def test_upload_limit_stops_reading_the_file(org):
    """The limit is enforced while the body is read: the file never reaches the form."""
    from shuangsuiji.transfer.forms import UploadLimit

    limit = UploadLimit(limit=100)
    limit.new_file("file", "a.xlsx", XLSX, None)
    assert limit.receive_data_chunk(b"x" * 60, 0) == b"x" * 60
    with pytest.raises(StopUpload):
        limit.receive_data_chunk(b"x" * 60, 60)
    assert limit.exceeded
    # A body far over the limit is refused before its first file.
    limit = UploadLimit(limit=100)
    limit.handle_raw_input(None, {}, 10_000_000, b"--x")
    with pytest.raises(StopUpload):
        limit.new_file("file", "a.xlsx", XLSX, None)


def test_empty_upload_is_refused(org):
    response = upload(org.client(org.scjgj_admin), b"")
    assert response.status_code == 200
    assert "空" in text(response)
    assert not ImportBatch.objects.exists()


def test_upload_of_csv(org):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(TARGET_HEADINGS)
    writer.writerows(good_rows(2))
    client = org.client(org.scjgj_admin)
    batch = batch_of(upload(client, out.getvalue().encode("gb18030"), name="名录.csv"))
    jobs.run_pending()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED and batch.new == 2


# --- downloads ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_blank_template(org, kind):
    response = org.client(org.inspector).get(reverse("transfer:template", args=[kind]))
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert (
        "attachment" in response["Content-Disposition"]
        and "filename*=utf-8''" in response["Content-Disposition"]
    )
    rows = workbook_rows(b"".join(response.streaming_content))
    assert list(rows[0]) == [c.heading for c in schemas.get_schema(kind).export_columns]
    assert len(rows) == 1  # blank


def test_template_unknown_kind(org):
    assert (
        org.client(org.scjgj_admin).get(reverse("transfer:template", args=["cats"])).status_code
        == 404
    )


def _directory(org):
    """SCJGJ holds three targets (risk A, C, C), GAJ one (risk C)."""
    for n, (risk, department) in enumerate(
        [("A", org.scjgj), ("C", org.scjgj), ("C", org.scjgj), ("C", org.gaj)], 1
    ):
        target = Target.objects.create(
            jurisdiction=org.prefecture,
            code=uscc(n),
            code_kind="uscc",
            name=f"测试公司{n}",
            object_kind="company",
            region=org.korla,
            risk_class=risk,
        )
        DirectoryEntry.objects.create(department=department, target=target, tags=pack(["食品经营"]))


def test_export_respects_filters_and_department(org):
    _directory(org)
    client = org.client(org.scjgj_admin)
    response = client.get(reverse("transfer:export", args=["targets"]) + "?department=SCJGJ&risk=C")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert "filename*=utf-8''" in response["Content-Disposition"]
    rows = workbook_rows(b"".join(response.streaming_content))
    assert list(rows[0]) == [c.heading for c in schemas.get_schema("targets").export_columns]
    assert sorted(r[0] for r in rows[1:]) == [uscc(2), uscc(3)]  # C only, SCJGJ's only

    response = client.get(reverse("transfer:export", args=["targets"]) + "?department=SCJGJ")
    assert len(workbook_rows(b"".join(response.streaming_content))) == 4

    # Another department's list is refused; the office may read it.
    assert (
        org.client(org.gaj_admin)
        .get(reverse("transfer:export", args=["targets"]) + "?department=SCJGJ")
        .status_code
        == 403
    )
    response = org.client(org.office).get(
        reverse("transfer:export", args=["targets"]) + "?department=GAJ"
    )
    assert [r[0] for r in workbook_rows(b"".join(response.streaming_content))[1:]] == [uscc(4)]


def test_export_csv(org):
    _directory(org)
    response = org.client(org.scjgj_admin).get(
        reverse("transfer:export", args=["targets"]) + "?department=SCJGJ&risk=A&format=csv"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert ".csv" in response["Content-Disposition"]
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0] == [c.heading for c in schemas.get_schema("targets").export_columns]
    assert [r[0] for r in rows[1:]] == [uscc(1)]


def test_export_bad_format_and_department(org):
    client = org.client(org.scjgj_admin)
    assert (
        client.get(reverse("transfer:export", args=["targets"]) + "?format=pdf").status_code == 400
    )
    assert (
        client.get(reverse("transfer:export", args=["targets"]) + "?department=NOPE").status_code
        == 404
    )
    assert client.get(reverse("transfer:export", args=["cats"])).status_code == 404
    # An auditor has no department of its own: asked to choose.
    response = org.client(org.auditor).get(
        reverse("transfer:export", args=["targets"]), follow=True
    )
    assert "请选择要导出的部门" in text(response)


def test_export_inspectors_masks_personal_data_for_the_office(org):
    id_number = make_id_number("652801", datetime.date(1985, 5, 5), "021")
    Inspector.objects.create(
        department=org.scjgj, id_number=id_number, name="赵六", phone="13899001234"
    )
    url = reverse("transfer:export", args=["inspectors"]) + "?department=SCJGJ"
    own = workbook_rows(b"".join(org.client(org.scjgj_admin).get(url).streaming_content))
    assert own[1][0] == id_number and own[1][3] == "13899001234"
    office = workbook_rows(b"".join(org.client(org.office).get(url).streaming_content))
    assert office[1][0] != id_number and "*" in office[1][0] and "*" in office[1][3]


def test_exported_file_imports_back_unchanged(org):
    _directory(org)
    client = org.client(org.scjgj_admin)
    exported = b"".join(
        client.get(
            reverse("transfer:export", args=["targets"]) + "?department=SCJGJ"
        ).streaming_content
    )
    batch = batch_of(upload(client, exported))
    jobs.run_pending()
    batch.refresh_from_db()
    assert (batch.total, batch.unchanged, batch.invalid) == (3, 3, 0), batch.sample_errors


# --- surviving a restart -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_job_of_a_crashed_server_is_finished_by_a_new_worker(org):
    """A preview job marked running by a worker that died (stale heartbeat) is re-claimed by a
    fresh worker thread and finished; the page then shows the preview."""
    client = org.client(org.scjgj_admin)
    batch = batch_of(upload(client, xlsx_bytes(good_rows(3))))
    stale = timezone.now() - jobs.STALE_AFTER - timedelta(seconds=5)
    Job.objects.filter(pk=batch.job_id).update(
        status=Job.Status.RUNNING, attempts=1, started_at=stale, heartbeat_at=stale
    )
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.PREVIEWING)

    stop = threading.Event()
    worker = threading.Thread(
        target=jobs.work_forever, kwargs={"poll": 0.1, "stop": stop}, daemon=True
    )
    worker.start()
    try:
        deadline = timezone.now() + timedelta(seconds=30)
        while timezone.now() < deadline:
            batch.refresh_from_db()
            if batch.status == ImportBatch.Status.PREVIEWED:
                break
            stop.wait(0.1)
    finally:
        stop.set()
        worker.join(10)
    job = Job.objects.get(pk=batch.job_id)
    assert job.status == Job.Status.DONE and job.attempts == 2
    assert batch.status == ImportBatch.Status.PREVIEWED and batch.new == 3
    assert 'data-count="new">3<' in text(client.get(reverse("transfer:batch", args=[batch.pk])))


@override_settings(SHUANGSUIJI_MAX_UPLOAD_BYTES=1000)
def test_upload_far_over_the_limit_is_refused_before_reading(org):
    response = upload(org.client(org.scjgj_admin), b"x" * 200_000, name="big.csv")
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["file"]
    assert "文件过大" in text(response)
    assert not ImportBatch.objects.exists()


def test_index_query_count_does_not_grow_with_batches(org, django_assert_max_num_queries):
    for _ in range(5):
        previewed_batch(org, good_rows(1))
    client = org.client(org.office)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("transfer:imports"))
    assert len(response.context["page"].object_list) == 5


ITEM_HEADINGS = [
    "抽查类别",
    "检查事项",
    "检查对象",
    "事项类别",
    "检查方式",
    "检查主体",
    "检查频次",
    "检查依据",
    "事项分类",
]


def test_items_import_goes_into_the_draft_list(org):
    from shuangsuiji.catalog.models import Item

    rows = [
        [
            "食品安全",
            "食品经营者经营条件检查",
            "食品经营者",
            "一般检查事项",
            "实地核查",
            "市场监管部门",
            "每年1次",
            "《中华人民共和国食品安全法》第三十三条",
            "A",
        ],
        [
            "特种设备",
            "电梯使用单位检查",
            "电梯使用单位",
            "重点检查事项",
            "实地核查",
            "市场监管部门",
            "每年1次",
            "《中华人民共和国特种设备安全法》第三十二条",
            "B",
        ],
    ]
    client = org.client(org.scjgj_admin)
    batch = batch_of(
        upload(client, xlsx_bytes(rows, headings=ITEM_HEADINGS, sheet="抽查事项清单"), kind="items")
    )
    jobs.run_pending()
    batch.refresh_from_db()
    assert (batch.status, batch.new, batch.invalid) == (ImportBatch.Status.PREVIEWED, 2, 0), (
        batch.sample_errors
    )
    client.post(reverse("transfer:apply", args=[batch.pk]), {"mode": "all"})
    jobs.run_pending()
    page = text(client.get(reverse("transfer:batch", args=[batch.pk])))
    assert 'id="applied"' in page and reverse("catalog:lists") in page
    assert set(
        Item.objects.filter(item_list__department=org.scjgj).values_list("name", flat=True)
    ) == {
        "食品经营者经营条件检查",
        "电梯使用单位检查",
    }


# --- the import's audit trail on the record's history page ---------------------------------------


def _apply(org, rows, *, user, department):
    batch = services.create_batch(
        user=user,
        department=department,
        kind="targets",
        filename="名录.xlsx",
        fileobj_or_path=io.BytesIO(xlsx_bytes(rows)),
    )
    batch = services.preview_batch(batch)
    return services.apply_batch(batch, user=user)


def test_imported_changes_show_in_history_without_other_departments_tags(org):
    row = [uscc(7), "库尔勒导入历史测试有限公司", "652801", "B", "市场局私有标签"]
    _apply(org, [row], user=org.scjgj_admin, department=org.scjgj)
    renamed = [uscc(7), "库尔勒导入历史测试有限公司（改名）", "652801", "B", "公安标签"]
    _apply(org, [renamed], user=org.gaj_admin, department=org.gaj)
    target = Target.objects.get(code=uscc(7))
    detail = reverse("directory:target_detail", args=[target.pk])

    history = text(org.client(org.gaj_admin).get(detail)).split("变更记录")[1]
    # The master record's creation (by the market regulator's import) and its own entry.
    assert "库尔勒导入历史测试有限公司" in history and "公安标签" in history
    assert history.count("导入批次") >= 2 and "新增" in history
    assert "市场局私有标签" not in history  # another department's entry stays hidden

    office = text(org.client(org.office).get(detail)).split("变更记录")[1]
    assert "市场局私有标签" in office and "公安标签" in office


# --- large exports run as a background job ---------------------------------------------------------


@override_settings(SHUANGSUIJI_EXPORT_DIRECT_ROWS=2)
def test_large_xlsx_export_runs_as_a_job_with_a_download_for_its_owner(org):
    _directory(org)  # SCJGJ has 3 targets: over the limit of 2
    client = org.client(org.scjgj_admin)
    url = reverse("transfer:export", args=["targets"]) + "?department=SCJGJ"
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/jobs/")
    job = Job.objects.get(kind="export")
    assert job.total == 3 and job.created_by == org.scjgj_admin and job.department == org.scjgj
    # Not done yet: the download link sends the user back to the progress page.
    download = reverse("transfer:export_file", args=[job.pk])
    assert client.get(download)["Location"] == reverse("core:job", args=[job.pk])

    assert jobs.run_pending() == 1
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.progress == 3
    assert download in text(client.get(reverse("core:job", args=[job.pk])))
    response = client.get(download)
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert ".xlsx" in response["Content-Disposition"]
    rows = workbook_rows(b"".join(response.streaming_content))
    assert sorted(r[0] for r in rows[1:]) == [uscc(1), uscc(2), uscc(3)]

    # Nobody else gets the file (it was chosen with the owner's permissions), not even the office.
    for other in (org.gaj_admin, org.office, org.scjgj_head):
        response = org.client(other).get(download)
        assert response.status_code == 404 and "页面不存在" in text(response)
    # A small filter, and CSV, stay direct downloads.
    assert client.get(url + "&risk=A").status_code == 200
    assert client.get(url + "&format=csv").status_code == 200
    assert Job.objects.filter(kind="export").count() == 1


@override_settings(SHUANGSUIJI_EXPORT_DIRECT_ROWS=0)
def test_export_job_refused_for_another_department(org):
    _directory(org)
    response = org.client(org.gaj_admin).get(
        reverse("transfer:export", args=["targets"]) + "?department=SCJGJ"
    )
    assert response.status_code == 403 and not Job.objects.filter(kind="export").exists()
