"""The import services: preview, apply (all-or-nothing / valid-only), re-runs, permissions,
audit, the job path, and export round trips."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied

from shuangsuiji.catalog import services as catalog
from shuangsuiji.catalog.models import Item
from shuangsuiji.core import jobs
from shuangsuiji.core.models import AuditEntry, Job
from shuangsuiji.directory.models import DirectoryEntry, Inspector, Target
from shuangsuiji.transfer import changelog, services
from shuangsuiji.transfer.models import ImportBatch

from .helpers import TARGET_HEADINGS, id_number, target_row, uscc, write_csv, write_xlsx

Status = ImportBatch.Status


def upload(
    org, tmp_path, rows, *, kind="targets", user=None, department=None, name="t.csv", fmt="csv"
):
    path = tmp_path / name
    (write_csv if fmt == "csv" else write_xlsx)(path, rows)
    return services.create_batch(
        user=user or org.scjgj_admin,
        department=department or org.scjgj,
        kind=kind,
        filename=name,
        fileobj_or_path=path,
    )


def preview(org, tmp_path, rows, **kwargs):
    return services.preview_batch(upload(org, tmp_path, rows, **kwargs))


def imported(org, tmp_path, rows, valid_only=False, **kwargs):
    batch = preview(org, tmp_path, rows, **kwargs)
    return services.apply_batch(
        batch, user=kwargs.get("user") or org.scjgj_admin, valid_only=valid_only
    )


# --- targets --------------------------------------------------------------------------------------------


def test_preview_counts_and_writes_nothing(org, tmp_path):
    imported(org, tmp_path, [TARGET_HEADINGS, target_row(1), target_row(2), target_row(3)])
    audit_before = AuditEntry.objects.count()
    rows = [
        TARGET_HEADINGS,
        target_row(1),  # unchanged
        target_row(2, 名称="改了名的公司"),  # changed
        target_row(3, 标签="药品零售"),  # changed (tags)
        target_row(4),  # new
        target_row(5, 信用风险分类="Z"),  # invalid
        [uscc(1), "", "", "", "", "", ""],  # duplicate of row 2 … and 名称 missing
    ]
    batch = preview(org, tmp_path, rows, name="second.csv")
    assert batch.status == Status.PREVIEWED
    assert batch.counts == {
        "total": 6,
        "new": 1,
        "changed": 2,
        "unchanged": 1,
        "removed": 0,
        "invalid": 2,
    }
    assert "读取了CSV 文件" in batch.message
    assert Target.objects.count() == 3 and AuditEntry.objects.count() == audit_before
    assert batch.report_file.exists()
    messages = [(e["row"], e["column"], e["message"]) for e in batch.sample_errors]
    assert (7, "统一社会信用代码/注册号", "与第 2 行重复") in messages
    assert any(r == 6 and c == "信用风险分类" for r, c, _ in messages)


def test_error_report_workbook(org, tmp_path):
    from python_calamine import CalamineWorkbook

    batch = preview(org, tmp_path, [TARGET_HEADINGS, target_row(1, 成立日期="明天")])
    rows = CalamineWorkbook.from_path(str(batch.report_file)).get_sheet_by_index(0).to_python()
    assert rows[0] == ["行号", "列", "填写的值", "错误说明"]
    assert (
        rows[1][0] == 2
        and rows[1][1] == "成立日期"
        and rows[1][2] == "明天"
        and "不是日期" in rows[1][3]
    )


def test_apply_creates_targets_entries_and_audit(org, tmp_path):
    batch = imported(
        org, tmp_path, [TARGET_HEADINGS, target_row(1), target_row(2, 标签="食品经营|重点监管")]
    )
    assert batch.status == Status.APPLIED and batch.new == 2
    target = Target.objects.get(code=uscc(2))
    assert target.jurisdiction == org.prefecture and target.region == org.korla
    assert target.object_kind == "company" and target.established == datetime.date(2020, 1, 2)
    entry = DirectoryEntry.objects.get(target=target, department=org.scjgj)
    assert entry.active and entry.tag_list == ["食品经营", "重点监管"]
    log = AuditEntry.objects.get(action=AuditEntry.Action.IMPORT)
    assert log.object_type == "transfer.importbatch" and log.department == org.scjgj
    assert (
        log.after["sha256"] == batch.sha256
        and log.after["new"] == 2
        and log.after["filename"] == "t.csv"
    )
    # Every record's before/after hangs on the batch's entry (changelog), not on a row of its own.
    assert AuditEntry.objects.count() == 1
    [created] = changelog.history([target])
    assert created.action == AuditEntry.Action.CREATE and created.before is None
    assert created.after["name"] == target.name and created.after["code"] == uscc(2)
    assert created.after["established"] == "2020-01-02" and created.after["region"] == org.korla.pk
    assert created.user == org.scjgj_admin and created.user_name == log.user_name
    assert created.at == log.at and created.note == f"导入批次 #{batch.pk}：t.csv"
    assert created.object_repr == str(target)
    [entry_created] = changelog.history([entry])
    assert entry_created.action == AuditEntry.Action.CREATE
    assert entry_created.after == {
        "target": target.pk,
        "active": True,
        "tags": "|食品经营|重点监管|",
    }
    # Another record of the same chunk is not mixed up with this one.
    other = Target.objects.get(code=uscc(1))
    assert [e.after["code"] for e in changelog.history([other])] == [uscc(1)]


def test_apply_updates_removes_and_re_adds(org, tmp_path):
    imported(org, tmp_path, [TARGET_HEADINGS, target_row(1), target_row(2), target_row(3)])
    rows = [
        TARGET_HEADINGS + ["出入库"],
        target_row(1, 名称="新名称") + ["入库"],
        target_row(2, 标签="") + [""],
        target_row(3) + ["出库"],
    ]
    batch = imported(org, tmp_path, rows, name="b.csv")
    assert (batch.changed, batch.removed, batch.unchanged) == (2, 1, 0)
    assert Target.objects.get(code=uscc(1)).name == "新名称"
    [update, create] = changelog.history([Target.objects.get(code=uscc(1))])
    assert update.action == "update" and create.action == "create"
    assert update.before == {"name": target_row(1)[1]} and update.after == {"name": "新名称"}
    assert update.at > create.at
    assert DirectoryEntry.objects.get(target__code=uscc(2)).tags == ""
    [untagged, _] = changelog.history([DirectoryEntry.objects.get(target__code=uscc(2))])
    assert untagged.action == "update" and untagged.after == {"active": True, "tags": ""}
    removed = DirectoryEntry.objects.get(target__code=uscc(3))
    assert not removed.active and removed.removed_at and "导入批次" in removed.removed_reason
    [remove, _] = changelog.history([removed])
    assert remove.action == "remove" and remove.before["active"] is True
    assert remove.after["active"] is False
    # 入库 again
    batch = imported(org, tmp_path, [TARGET_HEADINGS, target_row(3)], name="c.csv")
    assert batch.new == 1 and DirectoryEntry.objects.get(target__code=uscc(3)).active


def test_missing_optional_columns_keep_existing_values(org, tmp_path):
    imported(org, tmp_path, [TARGET_HEADINGS, target_row(1)])
    batch = imported(
        org,
        tmp_path,
        [["统一社会信用代码/注册号", "名称"], [uscc(1), target_row(1)[1]]],
        name="b.csv",
    )
    assert batch.unchanged == 1
    target = Target.objects.get(code=uscc(1))
    assert (
        target.risk_class == "B" and DirectoryEntry.objects.get(target=target).tags == "|食品经营|"
    )


def test_all_or_nothing_and_valid_only(org, tmp_path):
    rows = [TARGET_HEADINGS, target_row(1), target_row(2, 成立日期="不详"), target_row(3)]
    batch = preview(org, tmp_path, rows)
    assert batch.invalid == 1 and batch.can_apply  # valid rows exist: "valid only" is possible
    with pytest.raises(services.TransferError, match="全部或全不"):
        services.apply_batch(batch, user=org.scjgj_admin)
    assert Target.objects.count() == 0
    batch = services.apply_batch(batch, user=org.scjgj_admin, valid_only=True)
    assert batch.status == Status.APPLIED and batch.new == 2 and batch.invalid == 1
    assert set(Target.objects.values_list("code", flat=True)) == {uscc(1), uscc(3)}
    assert "跳过无效行 1" in batch.message


def test_rejected_file_changes_nothing(org, tmp_path):
    rows = [["代码甲", "名称"], ["x", "y"]]
    batch = preview(org, tmp_path, rows)
    assert batch.status == Status.REJECTED and "缺少必填列" in batch.message
    with pytest.raises(services.TransferError):
        services.apply_batch(batch, user=org.scjgj_admin)
    assert Target.objects.count() == 0 and not AuditEntry.objects.filter(action="import").exists()

    def formula(wb, ws):
        ws.write_formula(1, 1, "=1+1", None, 2)

    path = write_xlsx(tmp_path / "f.xlsx", [TARGET_HEADINGS, target_row(1)], after=formula)
    batch = services.create_batch(
        user=org.scjgj_admin,
        department=org.scjgj,
        kind="targets",
        filename="f.xlsx",
        fileobj_or_path=path,
    )
    batch = services.preview_batch(batch)
    assert batch.status == Status.REJECTED and "公式" in batch.message
    assert Target.objects.count() == 0


def test_headings_only_file_is_rejected(org, tmp_path):
    batch = preview(org, tmp_path, [TARGET_HEADINGS])
    assert batch.status == Status.REJECTED and "没有数据行" in batch.message


def test_apply_is_not_repeated_and_survives_an_interrupted_run(org, tmp_path):
    batch = preview(org, tmp_path, [TARGET_HEADINGS, target_row(1)])
    # A worker died while applying: the status says applying, the transaction was rolled back.
    ImportBatch.objects.filter(pk=batch.pk).update(status=Status.APPLYING)
    batch = services.apply_batch(batch, user=org.scjgj_admin)
    assert batch.status == Status.APPLIED
    entries = AuditEntry.objects.count()
    again = services.apply_batch(batch, user=org.scjgj_admin)
    assert again.status == Status.APPLIED
    assert AuditEntry.objects.count() == entries and Target.objects.count() == 1
    with pytest.raises(services.TransferError):
        services.preview_batch(batch)


def test_apply_revalidates_against_current_data(org, tmp_path):
    person = id_number(1)
    rows = [["身份证号", "姓名"], [person, "李四"], [id_number(2), "王五"]]
    batch = preview(org, tmp_path, rows, kind="inspectors")
    assert batch.new == 2 and batch.invalid == 0
    # After the preview, the public-security bureau registers the same person.
    Inspector.objects.create(department=org.gaj, id_number=person, name="李四")
    batch = services.apply_batch(batch, user=org.scjgj_admin)
    assert batch.status == Status.PREVIEWED and batch.invalid == 1
    assert "重新校验" in batch.message and "州公安局" in batch.sample_errors[0]["message"]
    assert not Inspector.objects.filter(department=org.scjgj).exists()
    batch = services.apply_batch(batch, user=org.scjgj_admin, valid_only=True)
    assert batch.status == Status.APPLIED
    assert list(
        Inspector.objects.filter(department=org.scjgj).values_list("id_number", flat=True)
    ) == [id_number(2)]


def test_target_in_master_joins_another_department(org, tmp_path):
    imported(org, tmp_path, [TARGET_HEADINGS, target_row(1)])
    batch = imported(
        org,
        tmp_path,
        [TARGET_HEADINGS, target_row(1, 标签="治安重点")],
        user=org.gaj_admin,
        department=org.gaj,
        name="gaj.csv",
    )
    assert batch.new == 1 and Target.objects.count() == 1
    assert DirectoryEntry.objects.get(department=org.gaj).tags == "|治安重点|"
    assert DirectoryEntry.objects.get(department=org.scjgj).tags == "|食品经营|"


# --- permissions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["gaj_admin", "office", "inspector", "auditor"])
def test_only_the_departments_own_admins_may_import(org, tmp_path, who):
    with pytest.raises(PermissionDenied):
        upload(org, tmp_path, [TARGET_HEADINGS, target_row(1)], user=getattr(org, who))
    assert not ImportBatch.objects.exists()


def test_other_department_cannot_apply_or_enqueue(org, tmp_path):
    batch = preview(org, tmp_path, [TARGET_HEADINGS, target_row(1)])
    with pytest.raises(PermissionDenied):
        services.apply_batch(batch, user=org.gaj_admin)
    with pytest.raises(PermissionDenied):
        services.enqueue_apply(batch, False, user=org.gaj_admin)
    assert Target.objects.count() == 0


def test_head_may_import(org, tmp_path):
    assert (
        imported(org, tmp_path, [TARGET_HEADINGS, target_row(1)], user=org.scjgj_head).status
        == Status.APPLIED
    )


def test_upload_size_limit(org, tmp_path, settings):
    settings.SHUANGSUIJI_MAX_UPLOAD_BYTES = 100
    with pytest.raises(services.TransferError, match="文件过大"):
        upload(org, tmp_path, [TARGET_HEADINGS] + [target_row(i) for i in range(1, 10)])
    assert not ImportBatch.objects.exists()


def test_stored_file_and_checksum(org, tmp_path):
    import hashlib

    batch = upload(org, tmp_path, [TARGET_HEADINGS, target_row(1)], name="..\\..\\evil name.csv")
    assert batch.filename == "evil name.csv"
    assert (
        batch.file.parent.name.startswith(f"{batch.pk}-")
        and batch.file.parent.parent.name == "imports"
    )
    assert hashlib.sha256(batch.file.read_bytes()).hexdigest() == batch.sha256


# --- inspectors and items ------------------------------------------------------------------------------


def test_inspectors_import_update_and_remove(org, tmp_path):
    headings = ["身份证号", "姓名", "手机号码", "执法证号", "执法证有效期止", "执法区域", "出入库"]
    rows = [
        headings,
        [id_number(1), "李四", "13899001234", "A1", "2029-12-31", "652801", ""],
        [id_number(2), "王五", "", "", "", "", ""],
    ]
    batch = imported(org, tmp_path, rows, kind="inspectors")
    assert batch.new == 2
    li = Inspector.objects.get(id_number=id_number(1))
    assert (
        li.department == org.scjgj
        and li.regions == "|652801|"
        and li.certificate_valid_to == datetime.date(2029, 12, 31)
    )
    rows = [
        headings,
        [id_number(1), "李四", "13899009999", "A1", "2029-12-31", "652801", ""],
        [id_number(2), "", "", "", "", "", "出库"],
    ]
    batch = imported(org, tmp_path, rows, kind="inspectors", name="b.csv")
    assert (batch.changed, batch.removed) == (1, 1)
    assert Inspector.objects.get(id_number=id_number(1)).phone == "13899009999"
    assert not Inspector.objects.get(id_number=id_number(2)).active
    update = AuditEntry.objects.get(object_type="directory.inspector", action="update")
    assert update.before == {"phone": "13899001234"}


def test_inspector_of_another_department_is_refused(org, tmp_path):
    Inspector.objects.create(department=org.gaj, id_number=id_number(7), name="赵六")
    batch = preview(
        org, tmp_path, [["身份证号", "姓名"], [id_number(7), "赵六"]], kind="inspectors"
    )
    assert batch.invalid == 1 and "州公安局" in batch.sample_errors[0]["message"]


ITEM_HEADINGS = [
    "事项编码",
    "抽查类别",
    "检查事项",
    "检查对象",
    "事项类别",
    "检查方式",
    "检查主体",
    "检查依据",
    "事项分类",
]


def item_row(code, name, **over):
    row = dict(
        zip(
            ITEM_HEADINGS,
            [
                code,
                "食品安全",
                name,
                "食品经营者",
                "一般检查事项",
                "实地核查",
                "州市场监督管理局",
                "《食品安全法》",
                "A",
            ],
            strict=True,
        )
    )
    row.update(over)
    return list(row.values())


def test_items_go_into_a_new_draft(org, tmp_path):
    published = catalog.publish_list(
        user=org.scjgj_admin,
        item_list=_draft_with(org, [("食品经营许可检查", "A")]),
        note="首版",
    )
    code = published.items.get().code
    rows = [
        ITEM_HEADINGS,
        item_row(code, "食品经营许可检查", 检查依据="《食品安全法》第三十五条"),
        item_row("", "新事项"),
    ]
    batch = preview(org, tmp_path, rows, kind="items")
    assert (batch.changed, batch.new) == (1, 1)
    batch = services.apply_batch(batch, user=org.scjgj_admin)
    assert batch.status == Status.APPLIED
    draft = org.scjgj.item_lists.get(status="draft")
    assert draft.version == 2
    assert draft.items.get(code=code).basis == "《食品安全法》第三十五条"
    new = draft.items.get(name="新事项")
    assert new.code.startswith("SCJGJ-") and new.code != code
    assert published.items.get().basis == "《食品安全法》"  # the published version is untouched
    # 出库 deletes from the draft; a row without a code matches by name
    rows = [
        ITEM_HEADINGS + ["出入库"],
        item_row(new.code, "新事项") + ["出库"],
        item_row("", "食品经营许可检查", 检查依据="《食品安全法》第三十五条") + [""],
    ]
    batch = imported(org, tmp_path, rows, kind="items", name="b.csv")
    assert (batch.removed, batch.unchanged) == (1, 1)
    assert not Item.objects.filter(pk=new.pk).exists()


def _draft_with(org, items):
    draft = catalog.draft_for_import(user=org.scjgj_admin, department=org.scjgj)
    for name, cls in items:
        catalog.create_item(
            user=org.scjgj_admin,
            item_list=draft,
            data={"category": "食品安全", "name": name, "target_type": "食品经营者", "item_type": "一般检查事项",
                  "methods": "实地核查", "subject": "州市场监督管理局", "basis": "《食品安全法》", "item_class": cls},
        )  # fmt: skip
    return draft


# --- jobs ----------------------------------------------------------------------------------------------


def test_job_path(org, tmp_path):
    batch = upload(org, tmp_path, [TARGET_HEADINGS, target_row(1), target_row(2)])
    job = services.enqueue_preview(batch)
    assert job.kind == "import.preview" and ImportBatch.objects.get(pk=batch.pk).job == job
    assert jobs.run_pending() == 1
    job.refresh_from_db()
    batch.refresh_from_db()
    assert job.status == Job.Status.DONE and job.result["new"] == 2
    assert batch.status == Status.PREVIEWED
    job = services.enqueue_apply(batch, False, user=org.scjgj_head)
    jobs.run_pending()
    job.refresh_from_db()
    batch.refresh_from_db()
    assert (
        job.status == Job.Status.DONE
        and batch.status == Status.APPLIED
        and batch.applied_by == org.scjgj_head
    )
    assert AuditEntry.objects.get(action="import").user == org.scjgj_head
    # A re-run of the same job (as after a crash) applies nothing twice.
    Job.objects.filter(pk=job.pk).update(status=Job.Status.QUEUED)
    jobs.run_pending()
    assert Target.objects.count() == 2 and AuditEntry.objects.filter(action="import").count() == 1


def test_enqueue_apply_refuses_invalid_batch(org, tmp_path):
    batch = preview(org, tmp_path, [TARGET_HEADINGS, target_row(1, 名称="")])
    with pytest.raises(services.TransferError):
        services.enqueue_apply(batch, False)
    services.enqueue_apply(batch, True)


# --- export -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_round_trip_targets(org, tmp_path, fmt):
    rows = [TARGET_HEADINGS + ["经营异常名录", "投诉举报次数", "行业代码"]]
    rows += [
        target_row(i, 标签="食品经营、重点监管" if i % 2 else "")
        + ["是" if i == 3 else "否", str(i), "F5211"]
        for i in range(1, 6)
    ]
    imported(org, tmp_path, rows)
    out = tmp_path / f"export.{fmt}"
    count = services.write_export(
        out,
        "targets",
        services.export_rows(user=org.scjgj_admin, kind="targets", department=org.scjgj, params={}),
        fmt=fmt,
    )
    assert count == 5
    batch = services.create_batch(
        user=org.scjgj_admin,
        department=org.scjgj,
        kind="targets",
        filename=out.name,
        fileobj_or_path=out,
    )
    batch = services.apply_batch(services.preview_batch(batch), user=org.scjgj_admin)
    assert batch.counts == {
        "total": 5,
        "new": 0,
        "changed": 0,
        "unchanged": 5,
        "removed": 0,
        "invalid": 0,
    }


def test_export_round_trip_inspectors_and_items(org, tmp_path):
    headings = [
        "身份证号",
        "姓名",
        "性别",
        "手机号码",
        "执法证有效期起",
        "执法证有效期止",
        "执法区域",
        "业务专长",
        "人员类别",
        "是否可参与抽取",
    ]
    imported(
        org,
        tmp_path,
        [
            headings,
            [
                id_number(1),
                "李四",
                "男",
                "13899001234",
                "2024-01-01",
                "2029-12-31",
                "652801、652822",
                "食品安全",
                "专家",
                "否",
            ],
        ],
        kind="inspectors",
    )
    imported(
        org,
        tmp_path,
        [ITEM_HEADINGS, item_row("", "甲事项"), item_row("", "乙事项", 事项分类="C")],
        kind="items",
        name="i.csv",
    )
    for kind in ("inspectors", "items"):
        buffer = io.BytesIO()
        services.write_export(
            buffer,
            kind,
            services.export_rows(user=org.scjgj_admin, kind=kind, department=org.scjgj, params={}),
        )
        path = tmp_path / f"{kind}.xlsx"
        path.write_bytes(buffer.getvalue())
        batch = services.preview_batch(
            services.create_batch(
                user=org.scjgj_admin,
                department=org.scjgj,
                kind=kind,
                filename=path.name,
                fileobj_or_path=path,
            )
        )
        assert batch.status == Status.PREVIEWED and batch.unchanged == batch.total > 0, (
            kind,
            batch.counts,
            batch.sample_errors,
        )


def test_export_masks_personal_data_for_others(org, tmp_path):
    imported(
        org,
        tmp_path,
        [["身份证号", "姓名", "手机号码"], [id_number(1), "李四", "13899001234"]],
        kind="inspectors",
    )
    rows = list(
        services.export_rows(user=org.office, kind="inspectors", department=org.scjgj, params={})
    )
    assert "*" in rows[0][0] and rows[0][3] == "138****1234"
    with pytest.raises(PermissionDenied):
        list(
            services.export_rows(
                user=org.gaj_admin, kind="inspectors", department=org.scjgj, params={}
            )
        )


def test_template(org, tmp_path):
    from python_calamine import CalamineWorkbook

    for kind in ("targets", "inspectors", "items"):
        path = tmp_path / f"{kind}.xlsx"
        path.write_bytes(services.write_template(kind))
        book = CalamineWorkbook.from_path(str(path))
        assert book.sheet_names[1] == "填写说明"
        headings = book.get_sheet_by_index(0).to_python()[0]
        assert headings == [c.heading for c in services.schemas.get_schema(kind).export_columns]
        batch = services.preview_batch(
            services.create_batch(
                user=org.scjgj_admin,
                department=org.scjgj,
                kind=kind,
                filename=path.name,
                fileobj_or_path=path,
            )
        )
        assert batch.status == Status.REJECTED and "没有数据行" in batch.message


def test_start_import_queues_the_preview_or_leaves_nothing(org, tmp_path, monkeypatch, settings):
    # Its own imports folder: the other test worker's imports would change the listing below.
    settings.DATA_DIR = tmp_path / "data"
    path = write_csv(tmp_path / "t.csv", [TARGET_HEADINGS, target_row(1)])
    kwargs = {"user": org.scjgj_admin, "department": org.scjgj, "kind": "targets"}
    kwargs["filename"] = "t.csv"
    batch = services.start_import(fileobj_or_path=path, **kwargs)
    assert batch.job.kind == "import.preview" and batch.job.params == {"batch": batch.pk}
    assert batch.file.is_file()

    def broken(*args, **kwargs):
        raise RuntimeError("queue down")

    stored = set(services.imports_dir().iterdir())
    monkeypatch.setattr(services.jobs, "enqueue", broken)
    with pytest.raises(RuntimeError):
        services.start_import(fileobj_or_path=path, **kwargs)
    # No batch stuck in "uploaded", no stored file left behind.
    assert list(ImportBatch.objects.values_list("pk", flat=True)) == [batch.pk]
    assert set(services.imports_dir().iterdir()) == stored


def test_change_sets_split_into_chunks_find_every_record(org, tmp_path, monkeypatch):
    from shuangsuiji.transfer.models import AuditChunk

    monkeypatch.setattr(changelog, "CHUNK_RECORDS", 2)
    imported(org, tmp_path, [TARGET_HEADINGS, *(target_row(n) for n in range(1, 6))])
    # 5 targets and 5 entries, 2 records per chunk: 3 + 3 chunk rows, ids ascending.
    chunks = list(AuditChunk.objects.order_by("object_type", "lo"))
    assert [c.count for c in chunks] == [2, 2, 1, 2, 2, 1]
    assert all(c.lo <= c.hi for c in chunks)
    for n in range(1, 6):
        target = Target.objects.get(code=uscc(n))
        [change] = changelog.history([target])
        assert change.after["code"] == uscc(n) and change.object_id == str(target.pk)
        entry = DirectoryEntry.objects.get(target=target)
        [change] = changelog.history([entry])
        assert change.after["target"] == target.pk
    # A record no import touched has no imported history.
    assert changelog.history([org.scjgj]) == []
