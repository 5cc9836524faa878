"""Write the demo jurisdiction into the database, idempotently.

Every step adds only what is missing (looked up by its natural key: jurisdiction code, department
code, username, item list, target code, ID number), so a second run changes nothing, and a run with
a larger ``targets`` adds the difference. Existing rows are never modified: an administrator's
edits to demo data survive a rerun. One audit entry per department records what the run added
("演示数据"), not one per row.
"""

from __future__ import annotations

import datetime
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.utils import timezone

from shuangsuiji.catalog.models import Item, ItemList
from shuangsuiji.core import audit, workdays
from shuangsuiji.core.models import AuditEntry, Department, Jurisdiction, User
from shuangsuiji.directory.models import DirectoryEntry, Inspector, Target, pack

from . import data, generate

DEMO_PASSWORD = "demo12345"
BATCH = 5000
PUBLISHED_AT = datetime.datetime(2026, 3, 30, 10, 0)  # seed 000 第十一条: joint plan by 3月30日


@dataclass
class DemoLogin:
    username: str
    full_name: str
    role: str
    department: str  # code, "" for none
    created: bool


@dataclass
class DemoSummary:
    jurisdiction: str = ""
    counties: int = 0
    departments: int = 0
    departments_created: int = 0
    calendar_years: list[int] = field(default_factory=list)
    item_lists: int = 0
    items: int = 0
    items_by_class: dict[str, int] = field(default_factory=dict)
    items_created: int = 0
    targets: int = 0
    targets_created: int = 0
    targets_by_kind: dict[str, int] = field(default_factory=dict)
    entries: int = 0
    entries_created: int = 0
    inspectors: int = 0
    experts: int = 0
    inspectors_created: int = 0
    logins: list[DemoLogin] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)  # "name（code）：state" of the tasks added
    seconds: float = 0.0


Progress = Callable[[str], None]


def _aware(dt: datetime.datetime) -> datetime.datetime:
    return timezone.make_aware(dt) if timezone.is_naive(dt) else dt


def _jurisdictions() -> tuple[Jurisdiction, dict[str, Jurisdiction]]:
    province, _ = Jurisdiction.objects.get_or_create(
        code=data.PROVINCE[0], defaults={"name": data.PROVINCE[1], "level": "province"}
    )
    prefecture, _ = Jurisdiction.objects.get_or_create(
        code=data.PREFECTURE[0],
        defaults={"name": data.PREFECTURE[1], "level": "prefecture", "parent": province},
    )
    counties = {}
    for code, name in data.COUNTIES:
        counties[code], _ = Jurisdiction.objects.get_or_create(
            code=code, defaults={"name": name, "level": "county", "parent": prefecture}
        )
    return prefecture, counties


def _departments(prefecture: Jurisdiction, added: Counter) -> dict[str, Department]:
    departments = {}
    for order, d in enumerate(data.DEPARTMENTS, 1):
        dept, created = Department.objects.get_or_create(
            jurisdiction=prefecture,
            code=d.code,
            defaults={
                "name": d.name,
                "short_name": d.short_name,
                "hosts_office": d.hosts_office,
                "sort_order": order,
            },
        )
        if created:
            added[(d.code, "department")] += 1
        departments[d.code] = dept
    return departments


LOGINS = [
    ("office", "马莉", User.Role.OFFICE, "SCJGJ"),
    ("scjgj_admin", "李建新", User.Role.DEPT_ADMIN, "SCJGJ"),
    ("scjgj_head", "红霞", User.Role.DEPT_HEAD, "SCJGJ"),
    ("gaj_admin", "艾尔肯·吐尔逊", User.Role.DEPT_ADMIN, "GAJ"),
    ("inspector", "", User.Role.INSPECTOR, "SCJGJ"),
    ("auditor", "王志刚", User.Role.AUDITOR, ""),
]


def _users(prefecture, departments) -> dict[str, tuple[User, bool]]:
    users = {}
    password = None
    for username, full_name, role, dept in LOGINS:
        user = User.objects.filter(username=username).first()
        created = user is None
        if created:
            # Hashed once: PBKDF2 takes half a second per call, and the password is public anyway.
            password = password or make_password(DEMO_PASSWORD)
            user = User.objects.create(
                username=username,
                password=password,
                full_name=full_name,
                role=role,
                jurisdiction=prefecture,
                department=departments.get(dept),
            )
        users[username] = (user, created)
    return users


def _item_lists(prefecture, departments, office: User, added: Counter) -> None:
    have = set(
        ItemList.objects.filter(jurisdiction=prefecture, department__isnull=False).values_list(
            "department__code", flat=True
        )
    )
    published_at = _aware(PUBLISHED_AT)
    for d in data.DEPARTMENTS:
        if d.code in have:
            continue
        dept = departments[d.code]
        item_list = ItemList.objects.create(
            jurisdiction=prefecture,
            department=dept,
            version=1,
            status=ItemList.Status.PUBLISHED,
            note="首次发布",
            created_by=office,
            published_at=published_at,
            published_by=office,
        )
        subject = data.subject_of(d)
        Item.objects.bulk_create(
            Item(
                item_list=item_list,
                code=f"{d.code}-{seq:03d}",
                seq=seq,
                category=i.category,
                name=i.name,
                target_type=i.target_type,
                item_type=i.item_type,
                methods=i.methods,
                subject=subject,
                frequency=i.frequency,
                content=i.content,
                basis=i.basis,
                item_class=i.item_class,
            )
            for seq, i in enumerate(data.ITEMS[d.code], 1)
        )
        added[(d.code, "items")] += len(data.ITEMS[d.code])


def _fast_insert(model, rows: list[dict]) -> None:
    """Insert plain dicts (COPY on PostgreSQL, ``executemany`` elsewhere): several times faster
    than ``bulk_create`` for 100,000 rows, because no model instances are built and the SQL is
    compiled once. Columns come from the model's fields, so a field added later gets its
    default; auto_now fields get now."""
    if not rows:
        return
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults, converters = {}, {}
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults[f.attname] = now
        else:
            defaults[f.attname] = f.get_default()
        if isinstance(f, models.DateField):  # incl. DateTimeField: needs the backend's format
            converters[f.attname] = f
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = "(" + ", ".join(quote(f.column) for f in fields) + ")"
    params = []
    for row in rows:
        values = []
        for f in fields:
            value = row.get(f.attname, defaults[f.attname])
            if value is not None and f.attname in converters:
                value = converters[f.attname].get_db_prep_save(value, connection)
            values.append(value)
        params.append(values)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY is ten times faster than any INSERT form on PostgreSQL (psycopg 3).
            with cursor.copy(f"COPY {table} {columns} FROM STDIN") as copy:
                for values in params:
                    copy.write_row(values)
            return
        # sqlite3's executemany loops in C.
        sql = f"INSERT INTO {table} {columns} VALUES ({', '.join(['%s'] * len(fields))})"
        for start in range(0, len(params), BATCH):
            cursor.executemany(sql, params[start : start + BATCH])


def _targets(prefecture, counties, departments, n: int, added: Counter, progress: Progress) -> None:
    existing_count = Target.objects.filter(jurisdiction=prefecture).count()
    if existing_count >= n:
        progress(f"检查对象已有 {existing_count} 个（≥ {n}），跳过生成")
        return
    existing = set(Target.objects.filter(jurisdiction=prefecture).values_list("code", flat=True))
    progress(f"正在生成 {n} 个检查对象 …")
    county_ids = {code: j.pk for code, j in counties.items()}
    dept_ids = {code: d.pk for code, d in departments.items()}
    rows, entries = [], []
    for i, rec in enumerate(generate.targets(n), 1):
        if rec.code not in existing:
            rows.append(
                {
                    "jurisdiction_id": prefecture.pk,
                    "code": rec.code,
                    "code_kind": rec.code_kind,
                    "name": rec.name,
                    "object_kind": rec.object_kind,
                    "region_id": county_ids[rec.region],
                    **rec.fields,
                }
            )
            entries.append((rec.code, rec.entries))
        if i % 20000 == 0:
            progress(f"  已生成 {i}/{n}")
    progress(f"写入 {len(rows)} 个检查对象 …")
    _fast_insert(Target, rows)
    added[("", "targets")] += len(rows)
    ids = dict(Target.objects.filter(jurisdiction=prefecture).values_list("code", "id"))
    entry_rows = []
    for code, by_dept in entries:
        for dept, tags in by_dept.items():
            entry_rows.append(
                {"department_id": dept_ids[dept], "target_id": ids[code], "tags": pack(tags)}
            )
            added[(dept, "entries")] += 1
    progress(f"写入 {len(entry_rows)} 条名录库条目 …")
    _fast_insert(DirectoryEntry, entry_rows)


def _inspectors(departments, added: Counter) -> list[Inspector]:
    existing = set(Inspector.objects.values_list("id_number", flat=True))
    new = []
    for row in generate.inspectors():
        if row["id_number"] in existing:
            continue
        row = dict(row)
        dept = row.pop("department")
        for key in ("regions", "specialities", "tags"):
            row[key] = pack(row[key])
        new.append(Inspector(department=departments[dept], **row))
        added[(dept, "inspectors")] += 1
    Inspector.objects.bulk_create(new, batch_size=BATCH)
    return new


def _link_inspector_login(user: User, scjgj: Department) -> None:
    """The demo inspector login is one certified, available SCJGJ inspector in 库尔勒市."""
    if Inspector.objects.filter(user=user).exists():
        return
    today = timezone.localdate()
    candidate = (
        Inspector.objects.filter(
            department=scjgj,
            kind=Inspector.Kind.INSPECTOR,
            user__isnull=True,
            available=True,
            certificate_valid_to__gte=today,
            regions="|652801|",
        )
        .order_by("id")
        .first()
    )
    if candidate is None:
        return
    candidate.user = user
    candidate.save(update_fields=["user", "updated_at"])
    if not user.full_name:
        user.full_name = candidate.name
        user.save(update_fields=["full_name"])


def _audit(departments, added: Counter) -> None:
    for d in data.DEPARTMENTS:
        counts = {
            "created": bool(added[(d.code, "department")]),
            "items": added[(d.code, "items")],
            "directory_entries": added[(d.code, "entries")],
            "inspectors": added[(d.code, "inspectors")],
        }
        if any(counts.values()):
            audit.record(
                None,
                AuditEntry.Action.IMPORT,
                departments[d.code],
                after=counts,
                note="演示数据",
                department=departments[d.code],
            )


def load_demo(*, targets: int = 100_000, progress: Progress | None = None) -> DemoSummary:
    """Load the demo jurisdiction (idempotent) and return what it now holds."""
    progress = progress or (lambda message: None)
    started = time.monotonic()
    added: Counter = Counter()
    summary = DemoSummary()
    with transaction.atomic():
        prefecture, counties = _jurisdictions()
        departments = _departments(prefecture, added)
        users = _users(prefecture, departments)
        progress("节假日安排 …")
        workdays.seed_from_chinese_calendar()
        _item_lists(prefecture, departments, users["office"][0], added)
        _targets(prefecture, counties, departments, targets, added, progress)
        progress("执法检查人员和专家 …")
        _inspectors(departments, added)
        _link_inspector_login(users["inspector"][0], departments["SCJGJ"])
        _audit(departments, added)
    # The tasks go through the services, each with its own transactions and public-log documents.
    from . import workflow

    added_tasks = workflow.load_tasks(
        {name: user for name, (user, _) in users.items()}, departments, progress
    )
    summary.tasks = [f"{t.name}（{t.code}）：{t.get_state_display()}" for t in added_tasks]

    from shuangsuiji.core.models import CalendarYear

    summary.jurisdiction = str(prefecture)
    summary.counties = len(counties)
    summary.departments = Department.objects.filter(jurisdiction=prefecture).count()
    summary.departments_created = sum(v for (_, k), v in added.items() if k == "department")
    summary.calendar_years = list(CalendarYear.objects.values_list("year", flat=True))
    lists = ItemList.objects.filter(jurisdiction=prefecture, department__isnull=False)
    summary.item_lists = lists.count()
    items = Item.objects.filter(item_list__in=lists.filter(status=ItemList.Status.PUBLISHED))
    summary.items = items.count()
    summary.items_by_class = dict(Counter(items.values_list("item_class", flat=True)))
    summary.items_created = sum(v for (_, k), v in added.items() if k == "items")
    target_qs = Target.objects.filter(jurisdiction=prefecture)
    summary.targets = target_qs.count()
    summary.targets_created = added[("", "targets")]
    summary.targets_by_kind = dict(Counter(target_qs.values_list("object_kind", flat=True)))
    summary.entries = DirectoryEntry.objects.filter(department__jurisdiction=prefecture).count()
    summary.entries_created = sum(v for (_, k), v in added.items() if k == "entries")
    people = Inspector.objects.filter(department__jurisdiction=prefecture)
    summary.inspectors = people.filter(kind=Inspector.Kind.INSPECTOR).count()
    summary.experts = people.filter(kind=Inspector.Kind.EXPERT).count()
    summary.inspectors_created = sum(v for (_, k), v in added.items() if k == "inspectors")
    for username, _, role, dept in LOGINS:
        user, created = users[username]
        user.refresh_from_db()
        summary.logins.append(
            DemoLogin(username, user.full_name, User.Role(role).label, dept, created)
        )
    summary.seconds = time.monotonic() - started
    return summary
