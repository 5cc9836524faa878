"""一单 reads: who may see which list, the index, a list's items, versions and comparisons.

Visibility: every logged-in user reads the published (and superseded) lists of their jurisdiction;
a department's draft is visible to that department, the office and auditors; the joint list's
draft to the office and auditors. The public sees published lists only (seed 004 第四十四条)."""

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet

from shuangsuiji.core import permissions
from shuangsuiji.core.models import Department, User
from shuangsuiji.core.permissions import user_jurisdictions

from .models import ITEM_FIELDS, Item, ItemList

Status = ItemList.Status


def in_jurisdiction(user: User, jurisdiction_id: int) -> bool:
    if user.is_superuser or not user.jurisdiction_id:
        return user.is_authenticated
    if user.jurisdiction_id == jurisdiction_id:
        return True
    return user_jurisdictions(user).filter(pk=jurisdiction_id).exists()


def can_view_list(user: User, item_list: ItemList) -> bool:
    if not user.is_authenticated or not in_jurisdiction(user, item_list.jurisdiction_id):
        return False
    if item_list.status != Status.DRAFT:
        return True
    if item_list.department_id is None:
        return permissions.sees_all_departments(user)
    return permissions.can_view_department(user, item_list.department)


def can_manage_owner(user: User, department: Department | None) -> bool:
    """May edit the drafts of this owner (a department, or ``None`` for the joint list)."""
    if department is None:
        return permissions.is_office(user)
    return permissions.can_edit_department(user, department)


def can_edit_list(user: User, item_list: ItemList) -> bool:
    return item_list.status == Status.DRAFT and can_manage_owner(user, item_list.department)


def _with_counts(qs: QuerySet) -> QuerySet:
    return qs.annotate(
        n_items=Count("items"),
        n_a=Count("items", filter=Q(items__item_class="A")),
        n_b=Count("items", filter=Q(items__item_class="B")),
        n_c=Count("items", filter=Q(items__item_class="C")),
    )


@dataclass
class IndexRow:
    department: Department | None
    published: ItemList | None = None
    draft: ItemList | None = None
    can_see_draft: bool = False
    can_manage: bool = False
    jurisdiction_name: str = ""

    @property
    def owner_name(self) -> str:
        return self.department.name if self.department else "联合抽查事项清单"


def index_rows(user: User) -> tuple[IndexRow, list[IndexRow]]:
    """The joint list's row and one row per department: current published and draft versions with
    item counts. Two queries, whatever the number of departments."""
    jurisdictions = user_jurisdictions(user)
    departments = list(
        Department.objects.filter(jurisdiction__in=jurisdictions, active=True).select_related(
            "jurisdiction"
        )
    )
    lists = _with_counts(
        ItemList.objects.filter(
            jurisdiction__in=jurisdictions, status__in=[Status.DRAFT, Status.PUBLISHED]
        )
    ).order_by()
    by_owner: dict[tuple, dict[str, ItemList]] = {}
    for lst in lists:
        key = (lst.department_id,) if lst.department_id else ("joint", lst.jurisdiction_id)
        by_owner.setdefault(key, {})[lst.status] = lst

    rows = []
    for dept in departments:
        found = by_owner.get((dept.pk,), {})
        see = permissions.can_view_department(user, dept)
        rows.append(
            IndexRow(
                department=dept,
                published=found.get(Status.PUBLISHED),
                draft=found.get(Status.DRAFT) if see else None,
                can_see_draft=see,
                can_manage=can_manage_owner(user, dept),
                jurisdiction_name=dept.jurisdiction.name,
            )
        )
    own = user.jurisdiction_id or (user.department.jurisdiction_id if user.department_id else None)
    found = by_owner.get(("joint", own), {})
    see = permissions.sees_all_departments(user)
    joint = IndexRow(
        department=None,
        published=found.get(Status.PUBLISHED),
        draft=found.get(Status.DRAFT) if see else None,
        can_see_draft=see,
        can_manage=permissions.is_office(user) and own is not None,
    )
    return joint, rows


def get_list(pk: int) -> ItemList | None:
    return (
        ItemList.objects.select_related("department", "jurisdiction", "published_by")
        .filter(pk=pk)
        .first()
    )


def list_items(
    item_list: ItemList, *, item_class: str = "", category: str = "", q: str = ""
) -> QuerySet:
    """The list's items, filtered; for the joint list with their source items and departments."""
    items = item_list.items.all()
    if item_class in Item.ItemClass.values:
        items = items.filter(item_class=item_class)
    if category:
        items = items.filter(category=category)
    if q:
        items = items.filter(
            Q(name__icontains=q)
            | Q(code__icontains=q)
            | Q(target_type__icontains=q)
            | Q(content__icontains=q)
            | Q(basis__icontains=q)
            | Q(subject__icontains=q)
        )
    if item_list.department_id is None:
        items = items.prefetch_related(
            Prefetch(
                "source_items",
                queryset=Item.objects.select_related("item_list__department").order_by(
                    "item_list__department__sort_order", "code"
                ),
            )
        )
    return items.order_by("seq", "code")


def categories(item_list: ItemList) -> list[str]:
    return list(item_list.items.order_by("category").values_list("category", flat=True).distinct())


def class_counts(item_list: ItemList) -> dict:
    return item_list.items.aggregate(
        total=Count("id"),
        a=Count("id", filter=Q(item_class="A")),
        b=Count("id", filter=Q(item_class="B")),
        c=Count("id", filter=Q(item_class="C")),
    )


def versions(user: User, item_list: ItemList) -> QuerySet:
    """All versions of the list's owner that ``user`` may see, newest first, with item counts."""
    qs = _same_owner(item_list)
    if item_list.department_id is None:
        see_draft = permissions.sees_all_departments(user)
    else:
        see_draft = permissions.can_view_department(user, item_list.department)
    if not see_draft:
        qs = qs.exclude(status=Status.DRAFT)
    return _with_counts(qs.select_related("published_by")).order_by("-version")


def public_lists() -> tuple[list[ItemList], list[ItemList]]:
    """The current published lists: (joint lists, department lists)."""
    qs = _with_counts(
        ItemList.objects.filter(status=Status.PUBLISHED).select_related(
            "department", "jurisdiction"
        )
    ).order_by("jurisdiction__code", "department__sort_order", "department__code")
    lists = list(qs)
    return [x for x in lists if x.department_id is None], [x for x in lists if x.department_id]


@dataclass
class Comparison:
    old: ItemList
    new: ItemList
    added: list[Item]
    removed: list[Item]
    changed: list[tuple[Item, Item, list[tuple[str, str, str]]]]
    unchanged: int


def _display(item: Item, name: str) -> str:
    if name in ("item_type", "item_class"):
        return getattr(item, f"get_{name}_display")()
    return getattr(item, name)


def compare(old: ItemList, new: ItemList) -> Comparison:
    """Items added, removed and changed between two versions, matched by their stable codes."""
    before = {i.code: i for i in old.items.order_by("seq", "code")}
    after = {i.code: i for i in new.items.order_by("seq", "code")}
    changed = []
    unchanged = 0
    for code, item in after.items():
        if code not in before:
            continue
        diffs = [
            (label, _display(before[code], name), _display(item, name))
            for name, label in ITEM_FIELDS
            if getattr(before[code], name) != getattr(item, name)
        ]
        if diffs:
            changed.append((before[code], item, diffs))
        else:
            unchanged += 1
    return Comparison(
        old=old,
        new=new,
        added=[i for c, i in after.items() if c not in before],
        removed=[i for c, i in before.items() if c not in after],
        changed=changed,
        unchanged=unchanged,
    )


def _same_owner(item_list: ItemList) -> QuerySet:
    qs = ItemList.objects.filter(jurisdiction_id=item_list.jurisdiction_id)
    if item_list.department_id is None:
        return qs.filter(department__isnull=True)
    return qs.filter(department_id=item_list.department_id)


def previous_published(item_list: ItemList) -> ItemList | None:
    """The version a draft would replace: the owner's current published list."""
    return _same_owner(item_list).filter(status=Status.PUBLISHED).exclude(pk=item_list.pk).first()


def has_draft(item_list: ItemList) -> bool:
    return _same_owner(item_list).filter(status=Status.DRAFT).exists()
