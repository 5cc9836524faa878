"""`shuangsuiji demo`: the demo jurisdiction is complete, valid, reproducible and idempotent."""

import datetime
import io
import re
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from shuangsuiji.catalog.models import Item, ItemList
from shuangsuiji.core.demo import data, generate
from shuangsuiji.core.demo.loader import DEMO_PASSWORD
from shuangsuiji.core.models import AuditEntry, CalendarYear, Department, Jurisdiction, User
from shuangsuiji.directory import identifiers as ids
from shuangsuiji.directory.industry import normalize_industry
from shuangsuiji.directory.models import DirectoryEntry, Inspector, Target, unpack

N = 2000
SEED_000_DEPARTMENTS = [
    "州市场监督管理局（知识产权局）", "州发展和改革委员会（粮食和物资储备局）",
    "州教育局（民族语言文字工作委员会）", "州公安局", "州司法局", "州人力资源和社会保障局", "州生态环境局",
    "州住房和城乡建设局（人民防空办公室）", "州交通运输局", "州农业农村局", "州商务局",
    "州文化体育广播电视和旅游局（文物局）", "州卫生健康委员会", "州应急管理局", "州统计局", "州畜牧兽医局",
    "州税务局", "库尔勒海关", "州道路运输管理局", "巴音郭楞路政管理局和地方海事局", "州行政服务中心",
    "州政务服务和公共资源交易中心",
]  # fmt: skip
MARKET_KINDS = {"company", "individual", "cooperative"}


def run_demo(targets: int = N) -> str:
    out = io.StringIO()
    call_command("demo", targets=targets, stdout=out)
    return out.getvalue()


def counts() -> dict:
    return {
        "jurisdictions": Jurisdiction.objects.count(),
        "departments": Department.objects.count(),
        "users": User.objects.count(),
        "lists": ItemList.objects.count(),
        "items": Item.objects.count(),
        "targets": Target.objects.count(),
        "entries": DirectoryEntry.objects.count(),
        "inspectors": Inspector.objects.count(),
        "audit": AuditEntry.objects.count(),
        "calendar": CalendarYear.objects.count(),
    }


@pytest.mark.django_db
def test_organisation_items_and_calendar():
    output = run_demo()
    prefecture = Jurisdiction.objects.get(code="652800")
    assert (prefecture.name, prefecture.level, prefecture.parent.code) == (
        "巴音郭楞蒙古自治州",
        "prefecture",
        "650000",
    )
    counties = dict(prefecture.children.values_list("code", "name"))
    assert counties == {
        "652801": "库尔勒市", "652822": "轮台县", "652823": "尉犁县", "652824": "若羌县",
        "652825": "且末县", "652826": "焉耆回族自治县", "652827": "和静县", "652828": "和硕县",
        "652829": "博湖县",
    }  # fmt: skip
    assert set(prefecture.children.values_list("level", flat=True)) == {"county"}

    departments = list(Department.objects.filter(jurisdiction=prefecture).order_by("sort_order"))
    assert [d.name for d in departments] == SEED_000_DEPARTMENTS
    codes = [d.code for d in departments]
    assert len(set(codes)) == 22
    assert all(re.fullmatch(r"[A-Z0-9]+", c) for c in codes)
    assert [d.code for d in departments if d.hosts_office] == ["SCJGJ"]
    assert departments[0].code == "SCJGJ" and "GAJ" in codes

    assert set(CalendarYear.objects.values_list("year", flat=True)) >= set(range(2004, 2027))

    for dept in departments:
        lists = ItemList.objects.filter(department=dept)
        assert lists.count() == 1
        item_list = lists.get()
        assert (item_list.version, item_list.status) == (1, ItemList.Status.PUBLISHED)
        assert item_list.published_at is not None
        items = list(item_list.items.order_by("seq"))
        assert (10 <= len(items) <= 20) if dept.code == "SCJGJ" else (2 <= len(items) <= 8)
        assert [i.code for i in items] == [f"{dept.code}-{n:03d}" for n in range(1, len(items) + 1)]
        for item in items:
            assert item.basis.startswith("《") and item.name and item.subject and item.methods
            assert set(item.method_list) <= {"书面检查", "网络监测", "实地核查", "其他"}
            assert item.item_type == ("key" if item.item_class == "B" else "general")
    classes = Counter(Item.objects.values_list("item_class", flat=True))
    assert set(classes) == {"A", "B", "C"}
    # C-class items: several departments supervise the same kind of target.
    c_departments = Counter(
        Item.objects.filter(item_class="C").values_list("item_list__department", flat=True)
    )
    assert len(c_departments) >= 8
    assert ItemList.objects.filter(department__isnull=True).count() == 0  # joint list: not ours

    # One audit entry per department, not per row.
    imports = AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT, note="演示数据")
    assert imports.count() == 22
    assert set(imports.values_list("department__code", flat=True)) == set(codes)
    assert "演示辖区已就绪" in output and "demo12345" in output


@pytest.mark.django_db
def test_targets_are_valid_and_realistic():
    run_demo()
    targets = Target.objects.all()
    assert targets.count() == N
    assert {k for k, _ in Target.ObjectKind.choices} == set(
        targets.values_list("object_kind", flat=True)
    )
    assert set(targets.values_list("code_kind", flat=True)) == {"uscc", "regno", "other"}
    prefecture = Jurisdiction.objects.get(code="652800")
    assert set(targets.values_list("jurisdiction", flat=True)) == {prefecture.pk}

    prefixes = Counter()
    for code, kind, obj_kind in targets.values_list("code", "code_kind", "object_kind"):
        assert ids.classify_target_code(code) == (kind, code)
        if kind == "uscc":
            assert ids.validate_uscc(code) == code
            prefixes[code[:2]] += 1
        if kind == "other":
            assert obj_kind == "non_market"
    assert {"91", "92", "93", "51", "52", "12", "N2", "31"} <= set(prefixes)

    assert set(targets.values_list("region__parent__code", flat=True)) == {"652800"}
    assert set(targets.values_list("risk_class", flat=True)) == {"A", "B", "C", "D", "U"}
    assert targets.filter(abnormal=True).exists() and targets.filter(serious_illegal=True).exists()
    assert targets.filter(complaints__gt=0).exists()
    statuses = Counter(targets.values_list("reg_status", flat=True))
    assert statuses["active"] > 0.8 * N and statuses["deregistered"] and statuses["revoked"]
    for t in targets.filter(object_kind__in=MARKET_KINDS).select_related("region")[:300]:
        county = t.region.name
        assert (
            t.registration_authority == f"{county}市场监督管理局"
            or "自治州" in t.registration_authority
        )
        assert county in t.address
        assert t.legal_rep and t.entity_type and t.business_scope and t.established
        assert normalize_industry(t.industry) == t.industry
    assert targets.filter(name__endswith="有限公司").exists()
    assert targets.filter(name__endswith="农民专业合作社").exists()


@pytest.mark.django_db
def test_directory_entries_match_items():
    run_demo()
    item_tags = {code: {i.tag for i in items} for code, items in data.ITEMS.items()}
    per_target = Counter()
    for dept_code, target_id, tags in DirectoryEntry.objects.values_list(
        "department__code", "target_id", "tags"
    ):
        per_target[target_id] += 1
        assert unpack(tags), "every entry carries at least one tag"
        assert set(unpack(tags)) <= item_tags[dept_code], (dept_code, tags)
    assert len(per_target) == N
    assert set(per_target.values()) == {1, 2, 3}
    # SCJGJ's directory holds every market entity.
    market = Target.objects.filter(object_kind__in=MARKET_KINDS)
    assert market.exclude(entries__department__code="SCJGJ").count() == 0
    # Every department's directory has something to draw from.
    assert DirectoryEntry.objects.values("department").distinct().count() == 22


@pytest.mark.django_db
def test_inspectors_and_experts():
    run_demo()
    people = Inspector.objects.select_related("department")
    assert 300 <= people.filter(kind="inspector").count() <= 500
    experts = people.filter(kind="expert")
    assert experts.count() == 20 and {e.department.code for e in experts} == {"SCJGJ"}
    today = datetime.date.today()
    county_codes = {c for c, _ in data.COUNTIES}
    for person in people:
        assert ids.validate_id_number(person.id_number) == person.id_number
        assert person.id_number[:6] in county_codes
        # The 17th digit is odd for men (GB 11643).
        assert (int(person.id_number[16]) % 2 == 1) == (person.gender == "M")
        assert ids.validate_phone(person.phone) == person.phone
        assert set(unpack(person.regions)) <= county_codes and unpack(person.regions)
        assert unpack(person.specialities)
        if person.certificate_no:
            assert person.certificate_authority == "新疆维吾尔自治区人民政府"
            assert person.certificate_valid_from < person.certificate_valid_to
    inspectors = people.filter(kind="inspector")
    assert inspectors.filter(certificate_valid_to__lt=today).exists()  # some expired
    assert inspectors.filter(certificate_valid_to__gte=today).count() > 250
    assert inspectors.filter(available=False).exclude(availability_note="").exists()
    assert len({p.department_id for p in inspectors}) == 22
    assert len(set(inspectors.values_list("certificate_no", flat=True)) - {""}) == (
        inspectors.exclude(certificate_no="").count()
    )


@pytest.mark.django_db
def test_demo_logins_work():
    run_demo()
    expected = {
        "office": ("office", "SCJGJ"),
        "scjgj_admin": ("dept_admin", "SCJGJ"),
        "scjgj_head": ("dept_head", "SCJGJ"),
        "gaj_admin": ("dept_admin", "GAJ"),
        "inspector": ("inspector", "SCJGJ"),
        "auditor": ("auditor", None),
    }
    for username, (role, dept) in expected.items():
        user = User.objects.get(username=username)
        assert user.role == role
        assert (user.department.code if user.department else None) == dept
        assert user.jurisdiction.code == "652800"
        assert not user.is_superuser
        assert Client().login(username=username, password=DEMO_PASSWORD), username
        assert not Client().login(username=username, password="wrong-password")
    profile = User.objects.get(username="inspector").inspector_profile
    assert profile.department.code == "SCJGJ" and profile.kind == "inspector"
    assert profile.certificate_valid_on(datetime.date.today()) and profile.available


@pytest.mark.django_db
def test_second_run_changes_nothing_and_a_bigger_run_adds_the_difference():
    run_demo()
    before = counts()
    codes = set(Target.objects.values_list("code", flat=True))
    out = run_demo()
    assert counts() == before
    assert "本次新增 0" in out and "已存在，未修改密码" in out

    run_demo(N + 100)
    after = counts()
    assert after["targets"] == N + 100
    assert codes < set(Target.objects.values_list("code", flat=True))
    assert after["entries"] > before["entries"]
    assert after["audit"] > before["audit"]  # one entry per department that got new entries
    for key in ("departments", "items", "inspectors", "users", "lists"):
        assert after[key] == before[key]


@pytest.mark.django_db
def test_existing_rows_are_not_overwritten():
    run_demo(100)
    scjgj = Department.objects.get(code="SCJGJ")
    scjgj.name = "管理员改过的名称"
    scjgj.save()
    office = User.objects.get(username="office")
    office.set_password("changed-by-admin")
    office.save()
    run_demo(100)
    assert Department.objects.get(code="SCJGJ").name == "管理员改过的名称"
    assert Client().login(username="office", password="changed-by-admin")


def test_generation_is_reproducible_and_prefix_stable():
    first = [(t.code, t.name) for t in generate.targets(300)]
    again = [(t.code, t.name) for t in generate.targets(200)]
    assert first[:200] == again
    assert len({c for c, _ in first}) == 300
    people = [p["id_number"] for p in generate.inspectors()]
    assert people == [p["id_number"] for p in generate.inspectors()]
    assert len(set(people)) == len(people)


@pytest.mark.django_db
def test_too_few_targets_is_refused():
    with pytest.raises(CommandError, match="至少为 20"):
        call_command("demo", targets=5, stdout=io.StringIO())
    assert Target.objects.count() == 0


@pytest.mark.django_db
def test_departments_command_lists_the_demo_departments():
    run_demo(100)
    out = io.StringIO()
    call_command("departments", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 22
    assert lines[0].startswith("SCJGJ") and "[联席会议办公室]" in lines[0]
    assert any(line.startswith("GAJ ") for line in lines)


@pytest.mark.django_db
def test_demo_tasks_show_each_step_and_the_public_draw_verifies():
    from shuangsuiji.jointcheck.models import JointTask
    from shuangsuiji.protocol.verify import verify
    from shuangsuiji.publication.models import LogEntry

    out = run_demo()
    tasks = {t.code: t for t in JointTask.objects.all()}
    assert {t.state for t in tasks.values()} == {"dispatched", "established", "awaiting"}
    for task in tasks.values():
        assert f"{task.name}（{task.code}）：{task.get_state_display()}" in out

    # The dispatched task's draw is public and re-runs to PASS from what anyone can download.
    code = next(c for c, t in tasks.items() if t.state == "dispatched")
    public = Client()
    files = {
        name: public.get(f"/public/draws/{code}/1{suffix}")
        for name, suffix in (
            ("release", ".json"),
            ("announcement", "/announcement.json"),
            ("population", "/population.tsv"),
            ("excluded", "/excluded.tsv"),
        )
    }
    assert all(r.status_code == 200 for r in files.values())
    body = {
        name: b"".join(r.streaming_content) if r.streaming else r.content
        for name, r in files.items()
    }
    report = verify(body["release"], body["population"], body["excluded"], body["announcement"])
    assert report.passed, report
    kinds = set(LogEntry.objects.filter(task=code).values_list("kind", flat=True))
    assert {"draw-announcement", "draw-release", "assign-announcement", "assign-release"} <= kinds

    # A second run adds no tasks.
    run_demo()
    assert JointTask.objects.count() == len(tasks)
