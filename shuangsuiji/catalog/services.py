"""一单 services: every change to an item list goes through here, validated and audited.

Rules (ISSUE3 "一单", DOMAIN.md, seed 004 第十三条、第十四条、第三十八条、第四十四条):

- A department keeps one item list with versions. At most one *draft* and one *published* version
  exist per department at a time; older published versions become *superseded* and stay on record.
- A published list is never edited in place. "新版本" copies the latest published version into a
  new draft (version + 1, same item codes), which is edited and then published; from version 2 on
  publishing requires an adjustment note (调整说明), since lists change with the law (动态调整).
- Every write locks the list row (``select_for_update``) and re-checks, in the same transaction,
  that it is still a draft, so an edit racing a publish, or two publishes, cannot both succeed.
- Item codes are ``<部门代码>-<3-digit sequence>`` (``SCJGJ-001``); a copied item keeps its code,
  and a code is never reused for another item, even after deletion.
- The office's joint list (联合抽查事项清单, ``department=None``) is built from all departments'
  *published* C-class items (seed 004 第三十八条); lines with the same 抽查类别 and 检查对象 are
  merged, and ``source_items`` records which department items each line came from.

Item classes and item types (seed 004 第十四条): "A类是指年度抽查比例在10%以下的一般检查事项；
B类是指年度抽查比例在10%以上且不设上限的重点检查事项；C类是指对同一类检查对象具有交叉监管职责的联合
检查事项". So an A item must be a 一般检查事项 and a B item a 重点检查事项; a C item is defined by
who supervises it, not by its weight, so it may be either.
"""

import re
from collections.abc import Iterable, Mapping

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from shuangsuiji.core import audit, permissions
from shuangsuiji.core.models import AuditEntry, Department, Jurisdiction, User

from . import selectors
from .models import ITEM_FIELDS, Item, ItemList

Action = AuditEntry.Action
Status = ItemList.Status

# 检查方式, seed 004 第十三条, in the seed's order (also the order they are stored in).
METHODS = ("书面检查", "网络监测", "实地核查", "其他")
METHOD_SEPARATOR = "、"
JOINT_CODE_PREFIX = "LH"  # 联合

# The columns of the seed templates, in their order, with the A/B/C class of seed 004 last.
FIELD_LABELS = dict(ITEM_FIELDS)
# 检查频次 and 检查内容 are blank in many published lists, so they may stay empty.
REQUIRED_FIELDS = frozenset(
    {"category", "name", "target_type", "item_type", "methods", "subject", "basis", "item_class"}
)
_TEXT_FIELDS = ("category", "name", "target_type", "subject", "frequency", "content", "basis")

_ITEM_TYPE_WORDS = {
    "general": Item.ItemType.GENERAL,
    "一般": Item.ItemType.GENERAL,
    "一般事项": Item.ItemType.GENERAL,
    "一般检查事项": Item.ItemType.GENERAL,
    "key": Item.ItemType.KEY,
    "重点": Item.ItemType.KEY,
    "重点事项": Item.ItemType.KEY,
    "重点检查事项": Item.ItemType.KEY,
}
_CLASS_RE = re.compile(r"^([ABC])\s*(类.*)?$")
_METHOD_SPLIT_RE = re.compile(r"[、,，;；/|\s]+")
# Control characters (except tab and newline) break PostgreSQL (NUL) and spreadsheets.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class CatalogError(ValueError):
    """A business rule refused the change; the message is Chinese and meant for the user."""


class ItemInvalid(CatalogError):
    """An item's fields are invalid: ``errors`` maps field name → Chinese message."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__(
            "；".join(f"{FIELD_LABELS.get(k, k)}：{v}" for k, v in self.errors.items())
        )


# --- validation ---------------------------------------------------------------------------------


def parse_methods(value) -> tuple[list[str], list[str]]:
    """``"实地核查、书面检查"`` or a list of them → (known methods in seed order, unknown words)."""
    values = [value] if isinstance(value, str) else list(value or [])
    words = [w.strip() for v in values for w in _METHOD_SPLIT_RE.split(str(v)) if w and w.strip()]
    known = [m for m in METHODS if m in words]
    unknown = list(dict.fromkeys(w for w in words if w not in METHODS))
    return known, unknown


def _text(value) -> str:
    if value is None:
        return ""
    return _CONTROL_RE.sub("", str(value)).strip()


def clean_item_fields(data: Mapping) -> tuple[dict, dict[str, str]]:
    """Validate one item's fields (from a form or an imported row).

    Returns ``(cleaned, errors)``: ``cleaned`` holds model values for the fields that are valid,
    ``errors`` maps field name → Chinese message. Accepts the display words too (``一般``,
    ``重点检查事项``, ``A类``, ``实地核查、书面检查``), so an import row and a form post are checked the
    same way. HTML is kept as typed (it is text; templates escape it)."""
    cleaned: dict = {}
    errors: dict[str, str] = {}
    for field in _TEXT_FIELDS:
        value = _text(data.get(field))
        limit = Item._meta.get_field(field).max_length
        if not value and field in REQUIRED_FIELDS:
            errors[field] = f"请填写{FIELD_LABELS[field]}。"
        elif limit and len(value) > limit:
            errors[field] = f"{FIELD_LABELS[field]}不能超过{limit}个字（现有{len(value)}个字）。"
        else:
            cleaned[field] = value

    raw_type = _text(data.get("item_type"))
    if not raw_type:
        errors["item_type"] = "请填写事项类别（一般检查事项或重点检查事项）。"
    elif raw_type.lower() in _ITEM_TYPE_WORDS or raw_type in _ITEM_TYPE_WORDS:
        cleaned["item_type"] = _ITEM_TYPE_WORDS.get(
            raw_type.lower(), _ITEM_TYPE_WORDS.get(raw_type)
        )
    else:
        errors["item_type"] = (
            f"事项类别“{raw_type[:20]}”无效，只能是“一般检查事项”或“重点检查事项”。"
        )

    raw_class = _text(data.get("item_class")).upper()
    if not raw_class:
        errors["item_class"] = "请填写事项分类（A类、B类或C类）。"
    elif match := _CLASS_RE.match(raw_class):
        cleaned["item_class"] = match.group(1)
    else:
        errors["item_class"] = f"事项分类“{raw_class[:20]}”无效，只能是A类、B类或C类。"

    raw_methods = data.get("methods")
    known, unknown = parse_methods(raw_methods)
    if unknown:
        errors["methods"] = (
            f"检查方式“{'、'.join(unknown)[:40]}”无效，只能从书面检查、网络监测、实地核查、其他中选择（可多选）。"
        )
    elif not known:
        errors["methods"] = "请选择检查方式（书面检查、网络监测、实地核查、其他，可多选）。"
    else:
        cleaned["methods"] = METHOD_SEPARATOR.join(known)

    item_class, item_type = cleaned.get("item_class"), cleaned.get("item_type")
    if item_class == "A" and item_type == Item.ItemType.KEY:
        errors["item_class"] = (
            "A类事项是年度抽查比例10%以下的一般检查事项，与事项类别“重点检查事项”不符。"
        )
    elif item_class == "B" and item_type == Item.ItemType.GENERAL:
        errors["item_class"] = (
            "B类事项是年度抽查比例10%以上的重点检查事项，与事项类别“一般检查事项”不符。"
        )
    return cleaned, errors


# --- locking and permissions --------------------------------------------------------------------


def _owner_lists(jurisdiction_id: int, department_id: int | None):
    qs = ItemList.objects.filter(jurisdiction_id=jurisdiction_id)
    if department_id is None:
        return qs.filter(department__isnull=True)
    return qs.filter(department_id=department_id)


def _require_manage(user: User, item_list: ItemList) -> None:
    if item_list.department_id is None:
        permissions.require(
            permissions.is_office(user)
            and selectors.in_jurisdiction(user, item_list.jurisdiction_id),
            "联合抽查事项清单只能由联席会议办公室维护。",
        )
    else:
        permissions.require_edit(user, item_list.department)


def lock_draft(*, user: User, item_list: ItemList | int) -> ItemList:
    """Take the list row for update and check, in the caller's transaction, that ``user`` may edit
    it and that it is still a draft. Every item write (the import's too) starts here."""
    pk = item_list.pk if isinstance(item_list, ItemList) else item_list
    locked = (
        ItemList.objects.select_for_update(of=("self",))
        .select_related("department", "jurisdiction")
        .get(pk=pk)
    )
    _require_manage(user, locked)
    if locked.status != Status.DRAFT:
        raise CatalogError(
            f"{locked}不是草稿，已发布的清单不能直接修改。如需调整，请创建新版本后修改并发布。"
        )
    return locked


# --- codes --------------------------------------------------------------------------------------


def _code_prefix(item_list: ItemList) -> str:
    return (item_list.department.code if item_list.department_id else JOINT_CODE_PREFIX) + "-"


def _code_number(prefix: str, code: str) -> int:
    tail = code[len(prefix) :] if code.startswith(prefix) else ""
    return int(tail) if tail.isdigit() else 0


def next_item_codes(item_list: ItemList, count: int) -> list[str]:
    """The next ``count`` unused item codes of the list's owner. The sequence runs over all
    versions and remembers deleted items (``ItemList.code_seq``), so a code is never given to a
    different item later."""
    prefix = _code_prefix(item_list)
    owner = _owner_lists(item_list.jurisdiction_id, item_list.department_id)
    codes = Item.objects.filter(item_list__in=owner, code__startswith=prefix).values_list(
        "code", flat=True
    )
    top = max(
        [
            item_list.code_seq,
            *owner.values_list("code_seq", flat=True),
            *(_code_number(prefix, c) for c in codes),
        ]
    )
    return [f"{prefix}{n:03d}" for n in range(top + 1, top + 1 + count)]


def next_item_code(item_list: ItemList) -> str:
    """The next unused code, e.g. ``SCJGJ-014`` (for the joint list ``LH-003``)."""
    return next_item_codes(item_list, 1)[0]


def remember_codes(item_list: ItemList, codes: Iterable[str]) -> None:
    """Record item codes as given out, so they are never reused (call inside the write's
    transaction, on the locked list, after creating or before deleting items)."""
    prefix = _code_prefix(item_list)
    top = max([item_list.code_seq, *(_code_number(prefix, c) for c in codes)])
    if top != item_list.code_seq:
        item_list.code_seq = top
        item_list.save(update_fields=["code_seq"])


def _next_seq(item_list: ItemList) -> int:
    return (item_list.items.aggregate(m=Max("seq"))["m"] or 0) + 1


# --- versions -----------------------------------------------------------------------------------


def _copy_items(*, user: User, source: ItemList, target: ItemList) -> int:
    """Copy ``source``'s items (codes, order and the joint lines' source items) into ``target``."""
    originals = list(source.items.prefetch_related("source_items"))
    copies = []
    for item in originals:
        data = {f.attname: getattr(item, f.attname) for f in Item._meta.concrete_fields}
        data.pop("id")
        data["item_list_id"] = target.pk
        copies.append(Item(**data))
    Item.objects.bulk_create(copies, batch_size=500)
    through = Item.source_items.through
    links = [
        through(from_item_id=copy.pk, to_item_id=src.pk)
        for item, copy in zip(originals, copies, strict=True)
        for src in item.source_items.all()
    ]
    through.objects.bulk_create(links, batch_size=1000)
    audit.record_many(
        user,
        ((Action.CREATE, copy, None, audit.snapshot(copy)) for copy in copies),
        note=f"新版本第{target.version}版，复制自第{source.version}版",
        department=target.department,
    )
    return len(copies)


def _create_version(
    *, user: User, jurisdiction: Jurisdiction, department: Department | None
) -> ItemList:
    owner = _owner_lists(jurisdiction.pk, department.pk if department else None)
    # Lock the owner's existing versions so two "新版本" clicks queue; the unique constraints
    # catch the case where there is nothing yet to lock.
    existing = list(owner.select_for_update(of=("self",)).order_by("-version"))
    if draft := next((x for x in existing if x.status == Status.DRAFT), None):
        raise CatalogError(
            f"已有草稿（第{draft.version}版），请先修改并发布或删除该草稿，再创建新版本。"
        )
    published = next((x for x in existing if x.status == Status.PUBLISHED), None)
    version = (existing[0].version if existing else 0) + 1
    try:
        with transaction.atomic():
            new = ItemList.objects.create(
                jurisdiction=jurisdiction,
                department=department,
                version=version,
                created_by=user,
                code_seq=max((x.code_seq for x in existing), default=0),
            )
    except IntegrityError as exc:
        raise CatalogError("其他用户刚刚创建了新版本，请刷新页面后重试。") from exc
    note = f"复制自第{published.version}版" if published else "新建清单"
    audit.record(user, Action.CREATE, new, note=f"新版本：{note}", department=department)
    if published:
        _copy_items(user=user, source=published, target=new)
    return new


def new_version(*, user: User, department: Department) -> ItemList:
    """ "新版本": a draft copy (version + 1, same item codes) of the department's latest published
    list, or an empty version 1 when there is none. Refused while a draft exists."""
    permissions.require_edit(user, department)
    with transaction.atomic():
        return _create_version(
            user=user, jurisdiction=department.jurisdiction, department=department
        )


def new_joint_version(*, user: User) -> ItemList:
    """ "新版本" of the office's joint list (without rebuilding its lines)."""
    jurisdiction = _office_jurisdiction(user)
    with transaction.atomic():
        return _create_version(user=user, jurisdiction=jurisdiction, department=None)


def draft_for_import(*, user: User, department: Department) -> ItemList:
    """The list an items import writes into: the department's current draft, else a new draft
    version copied from the latest published one, else a new version 1."""
    permissions.require_edit(user, department)
    with transaction.atomic():
        draft = (
            _owner_lists(department.jurisdiction_id, department.pk)
            .filter(status=Status.DRAFT)
            .first()
        )
        return draft or _create_version(
            user=user, jurisdiction=department.jurisdiction, department=department
        )


def publish_list(*, user: User, item_list: ItemList, note: str = "") -> ItemList:
    """Publish a draft. The previous published version becomes superseded. From version 2 on an
    adjustment note (调整说明) is required. Refused when the list is no longer a draft (someone
    published it meanwhile) or has no items."""
    with transaction.atomic():
        locked = lock_draft(user=user, item_list=item_list)
        note = _text(note)[:500] or locked.note
        if locked.version > 1 and not note:
            raise CatalogError("第2版起发布须填写调整说明：写明新增、修改、删除了哪些事项及依据。")
        if not locked.items.exists():
            raise CatalogError("清单中没有抽查事项，不能发布。")
        previous = (
            _owner_lists(locked.jurisdiction_id, locked.department_id)
            .filter(status=Status.PUBLISHED)
            .select_for_update(of=("self",))
            .order_by("-version")
            .first()
        )
        if previous:
            before = audit.snapshot(previous)
            previous.status = Status.SUPERSEDED
            previous.save(update_fields=["status"])
            audit.record(
                user,
                Action.UPDATE,
                previous,
                before=before,
                note=f"被第{locked.version}版替代",
                department=locked.department,
            )
        before = audit.snapshot(locked)
        locked.status = Status.PUBLISHED
        locked.note = note
        locked.published_at = timezone.now()
        locked.published_by = user
        locked.save(update_fields=["status", "note", "published_at", "published_by"])
        audit.record(
            user, Action.PUBLISH, locked, before=before, note=note, department=locked.department
        )
    return locked


def discard_draft(*, user: User, item_list: ItemList) -> None:
    """Delete a draft and its items (published versions are never deleted)."""
    with transaction.atomic():
        locked = lock_draft(user=user, item_list=item_list)
        items = list(locked.items.all())
        audit.record_many(
            user,
            ((Action.DELETE, item, audit.snapshot(item), None) for item in items),
            note=f"删除草稿第{locked.version}版",
            department=locked.department,
        )
        audit.record(
            user,
            Action.DELETE,
            locked,
            before=audit.snapshot(locked),
            note="删除草稿",
            department=locked.department,
        )
        locked.delete()


# --- items --------------------------------------------------------------------------------------


def _check_duplicate(
    item_list: ItemList, cleaned: dict, exclude_pk: int | None = None
) -> dict[str, str]:
    if "name" not in cleaned or "target_type" not in cleaned:
        return {}
    dup = item_list.items.filter(name=cleaned["name"], target_type=cleaned["target_type"])
    if exclude_pk:
        dup = dup.exclude(pk=exclude_pk)
    if code := dup.values_list("code", flat=True).first():
        return {"name": f"本清单已有相同检查对象的同名检查事项（{code}）。"}
    return {}


def create_item(*, user: User, item_list: ItemList, data: Mapping) -> Item:
    """Add an item to a draft list, with the next free code."""
    with transaction.atomic():
        locked = lock_draft(user=user, item_list=item_list)
        if locked.is_joint:
            raise CatalogError(
                "联合抽查事项清单的事项由各部门已发布的C类事项生成，请使用“重新生成”。"
            )
        cleaned, errors = clean_item_fields(data)
        errors = errors or _check_duplicate(locked, cleaned)
        if errors:
            raise ItemInvalid(errors)
        item = Item.objects.create(
            item_list=locked, code=next_item_code(locked), seq=_next_seq(locked), **cleaned
        )
        remember_codes(locked, [item.code])
        audit.record(user, Action.CREATE, item, department=locked.department)
    return item


def update_item(*, user: User, item: Item, data: Mapping) -> Item:
    """Change an item of a draft list (its code stays)."""
    with transaction.atomic():
        locked = lock_draft(user=user, item_list=item.item_list_id)
        current = Item.objects.select_for_update().get(pk=item.pk, item_list=locked)
        cleaned, errors = clean_item_fields(data)
        if locked.is_joint and cleaned.get("item_class", "C") != "C":
            errors["item_class"] = "联合抽查事项清单中的事项只能是C类。"
        errors = errors or _check_duplicate(locked, cleaned, exclude_pk=current.pk)
        if errors:
            raise ItemInvalid(errors)
        before = audit.snapshot(current)
        for field, value in cleaned.items():
            setattr(current, field, value)
        if audit.snapshot(current) != before:
            current.save()
            audit.record(user, Action.UPDATE, current, before=before, department=locked.department)
    return current


def delete_item(*, user: User, item: Item) -> None:
    """Remove an item from a draft list. Its code is not reused."""
    with transaction.atomic():
        locked = lock_draft(user=user, item_list=item.item_list_id)
        current = Item.objects.select_for_update().get(pk=item.pk, item_list=locked)
        before = audit.snapshot(current)
        remember_codes(locked, [current.code])
        current.delete()
        current.pk = item.pk  # keep the id for the audit entry
        audit.record(user, Action.DELETE, current, before=before, department=locked.department)


def delete_items(*, user: User, item_list: ItemList, items: Iterable[Item], note: str = "") -> int:
    """Bulk form of :func:`delete_item` for imports (出库): one transaction, one audit entry each."""
    with transaction.atomic():
        locked = lock_draft(user=user, item_list=item_list)
        doomed = list(locked.items.filter(pk__in=[i.pk for i in items]))
        remember_codes(locked, [i.code for i in doomed])
        audit.record_many(
            user,
            ((Action.DELETE, i, audit.snapshot(i), None) for i in doomed),
            note=note,
            department=locked.department,
        )
        Item.objects.filter(pk__in=[i.pk for i in doomed]).delete()
    return len(doomed)


# --- the joint list -----------------------------------------------------------------------------


def _office_jurisdiction(user: User) -> Jurisdiction:
    permissions.require_office(user)
    if user.jurisdiction_id:
        return user.jurisdiction
    if user.department_id:
        return user.department.jurisdiction
    raise CatalogError("您的账号未设置行政区划，无法维护联合抽查事项清单。")


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text or "")


def _join(values: Iterable[str], sep: str, limit: int | None = None) -> str:
    text = sep.join(dict.fromkeys(v.strip() for v in values if v and v.strip()))
    if limit and len(text) > limit:
        # The full text stays in the source items; the joint line names them.
        text = text[: limit - 1] + "…"
    return text


def _merged_fields(sources: list[Item]) -> dict:
    def limit(field: str) -> int | None:
        return Item._meta.get_field(field).max_length

    methods = {m for s in sources for m in s.method_list}
    return {
        "category": sources[0].category,
        "target_type": sources[0].target_type,
        "name": _join((s.name for s in sources), "；", limit("name")),
        "item_type": (
            Item.ItemType.KEY
            if any(s.item_type == Item.ItemType.KEY for s in sources)
            else Item.ItemType.GENERAL
        ),
        "methods": METHOD_SEPARATOR.join(m for m in METHODS if m in methods),
        "subject": _join((s.subject for s in sources), "、", limit("subject")),
        "frequency": _join((s.frequency for s in sources), "；", limit("frequency")),
        "content": _join((s.content for s in sources), "\n"),
        "basis": _join((s.basis for s in sources), "\n"),
        "item_class": Item.ItemClass.C,
    }


def _line_snapshot(item: Item, source_ids: Iterable[int]) -> dict:
    data = audit.snapshot(item)
    data["source_items"] = sorted(source_ids)
    return data


def build_joint_list(*, user: User, merge: bool = True) -> ItemList:
    """Build (or rebuild) the office's joint list draft from every department's published C-class
    items of the office's jurisdiction.

    Works on the joint draft (creating one from the latest published joint list if needed). With
    ``merge``, items of the same 抽查类别 and 检查对象 from several departments become one line
    (names, subjects, bases … joined; 重点 if any source is 重点; the union of the methods);
    without it, one line per department item. A line that existed already (same category and
    target type, or same source item) keeps its code and is updated; lines whose sources are no
    longer published C items are removed. The office may reword a line; its wording is kept on
    rebuild unless the content of its department items changed. Lines are not added by hand."""
    jurisdiction = _office_jurisdiction(user)
    with transaction.atomic():
        draft = _owner_lists(jurisdiction.pk, None).filter(status=Status.DRAFT).first()
        if draft is None:
            draft = _create_version(user=user, jurisdiction=jurisdiction, department=None)
        draft = lock_draft(user=user, item_list=draft)

        sources = list(
            Item.objects.filter(
                item_class=Item.ItemClass.C,
                item_list__status=Status.PUBLISHED,
                item_list__department__isnull=False,
                item_list__department__jurisdiction=jurisdiction,
            )
            .select_related("item_list__department")
            .order_by(
                "item_list__department__sort_order", "item_list__department__code", "seq", "code"
            )
        )

        def key_of_source(item: Item):
            if merge:
                return ("m", _norm(item.category), _norm(item.target_type))
            return ("s", item.item_list.department_id, item.code)

        groups: dict[tuple, list[Item]] = {}
        for item in sources:
            groups.setdefault(key_of_source(item), []).append(item)

        def source_order(item: Item):
            dept = item.item_list.department
            return (dept.sort_order, dept.code, item.seq, item.code)

        # Existing lines are matched through their sources (not their own, editable wording).
        existing: dict[tuple, Item] = {}
        leftovers: list[Item] = []
        for line in draft.items.prefetch_related("source_items__item_list__department"):
            srcs = sorted(line.source_items.all(), key=source_order)
            if merge:
                basis = srcs[0] if srcs else line
                key = ("m", _norm(basis.category), _norm(basis.target_type))
            elif len(srcs) == 1:
                key = ("s", srcs[0].item_list.department_id, srcs[0].code)
            else:
                key = ("x", line.pk)
            if key in existing:
                leftovers.append(line)
            else:
                existing[key] = line
                line._old_sources = srcs

        created = updated = removed = 0
        new_keys = [k for k in groups if k not in existing]
        codes = iter(next_item_codes(draft, len(new_keys)))
        seq = _next_seq(draft)
        for key, group in groups.items():
            fields = _merged_fields(group)
            source_ids = [s.pk for s in group]
            line = existing.pop(key, None)
            if line is None:
                line = Item.objects.create(item_list=draft, code=next(codes), seq=seq, **fields)
                remember_codes(draft, [line.code])
                seq += 1
                line.source_items.set(source_ids)
                audit.record(
                    user,
                    Action.CREATE,
                    line,
                    after=_line_snapshot(line, source_ids),
                    note="生成联合清单",
                )
                created += 1
                continue
            before = _line_snapshot(line, [s.pk for s in line._old_sources])
            # Sources with the same content (e.g. only republished in a new version) leave the
            # line as the office worded it; changed sources rewrite it.
            if not line._old_sources or _merged_fields(line._old_sources) != fields:
                for field, value in fields.items():
                    setattr(line, field, value)
            after = _line_snapshot(line, source_ids)
            if after != before:
                line.save()
                line.source_items.set(source_ids)
                audit.record(
                    user, Action.UPDATE, line, before=before, after=after, note="重新生成联合清单"
                )
                updated += 1

        for line in [*existing.values(), *leftovers]:
            before = _line_snapshot(line, [s.pk for s in line.source_items.all()])
            remember_codes(draft, [line.code])
            pk = line.pk
            line.delete()
            line.pk = pk
            audit.record(
                user,
                Action.DELETE,
                line,
                before=before,
                note="重新生成联合清单：源事项已不是已发布的C类事项",
            )
            removed += 1

        audit.record(
            user,
            Action.UPDATE,
            draft,
            before=audit.snapshot(draft),
            note=(
                f"从{len(sources)}项已发布C类事项{'合并' if merge else ''}生成："
                f"新增{created}项、更新{updated}项、删除{removed}项"
            ),
        )
    return draft
