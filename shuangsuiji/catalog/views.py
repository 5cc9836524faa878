"""一单 pages: thin views that parse the request, call one service or selector, and render.

Lists a user may not see answer 404 (a department's draft does not exist for other departments);
lists a user may see but not change answer 403 on any write."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from shuangsuiji.core import audit, permissions
from shuangsuiji.core.models import Department

from . import selectors, services
from .forms import ItemForm, PublishForm
from .models import Item, ItemList

PAGE_SIZE = 100


def _visible_list(request, pk: int) -> ItemList:
    item_list = selectors.get_list(pk)
    if item_list is None or not selectors.can_view_list(request.user, item_list):
        raise Http404("没有找到该清单，或您无权查看。")
    return item_list


def _visible_item(request, pk: int) -> Item:
    item = (
        Item.objects.select_related("item_list__department", "item_list__jurisdiction")
        .filter(pk=pk)
        .first()
    )
    if item is None or not selectors.can_view_list(request.user, item.item_list):
        raise Http404("没有找到该事项，或您无权查看。")
    return item


def _refuse_unless_editable(request, item_list: ItemList):
    """403 for users who may not manage the list; a message and a redirect when it is no longer a
    draft (published meanwhile). Returns the redirect, or None when editing may go on."""
    permissions.require(
        selectors.can_manage_owner(request.user, item_list.department),
        "联合抽查事项清单只能由联席会议办公室维护。"
        if item_list.is_joint
        else "只能修改本部门的抽查事项清单。",
    )
    if not item_list.is_draft:
        messages.error(request, f"{item_list}不是草稿，不能修改。如需调整，请创建新版本。")
        return redirect("catalog:detail", pk=item_list.pk)
    return None


def _transfer_links(item_list: ItemList) -> dict | None:
    if item_list.is_joint:
        return None
    code = item_list.department.code
    return {
        "import": f"/transfer/import/items/?{urlencode({'department': code})}",
        "export": f"/transfer/export/items/?{urlencode({'department': code})}",
        "template": "/transfer/template/items/",
    }


# --- lists --------------------------------------------------------------------------------------


@login_required
def list_index(request):
    joint, rows = selectors.index_rows(request.user)
    return render(request, "catalog/index.html", {"joint": joint, "rows": rows})


def _items_context(request, item_list: ItemList) -> dict:
    item_class = request.GET.get("class", "").strip().upper()
    category = request.GET.get("category", "").strip()
    q = request.GET.get("q", "").strip()[:100]
    items = selectors.list_items(item_list, item_class=item_class, category=category, q=q)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "item_list": item_list,
        "page": page,
        "items": page.object_list,
        "filters": {"class": item_class, "category": category, "q": q},
        "categories": selectors.categories(item_list),
        "counts": selectors.class_counts(item_list),
        "class_choices": Item.ItemClass.choices,
    }


@login_required
def list_detail(request, pk: int):
    item_list = _visible_list(request, pk)
    can_manage = selectors.can_manage_owner(request.user, item_list.department)
    context = _items_context(request, item_list)
    context.update(
        {
            "can_edit": can_manage and item_list.is_draft,
            # "新版本" is offered on the current published version while no draft exists.
            "can_new_version": can_manage
            and item_list.status == ItemList.Status.PUBLISHED
            and not selectors.has_draft(item_list),
            "history": audit.history(item_list)[:50],
            "transfer": _transfer_links(item_list),
        }
    )
    return render(request, "catalog/detail.html", context)


@login_required
def list_versions(request, pk: int):
    item_list = _visible_list(request, pk)
    return render(
        request,
        "catalog/versions.html",
        {"item_list": item_list, "versions": selectors.versions(request.user, item_list)},
    )


@login_required
def list_compare(request):
    try:
        old_pk, new_pk = int(request.GET.get("old", "")), int(request.GET.get("new", ""))
    except ValueError:
        messages.error(request, "请选择要比较的两个版本。")
        return redirect("catalog:lists")
    old, new = _visible_list(request, old_pk), _visible_list(request, new_pk)
    if (old.jurisdiction_id, old.department_id) != (new.jurisdiction_id, new.department_id):
        messages.error(request, "只能比较同一份清单的不同版本。")
        return redirect("catalog:versions", pk=new.pk)
    if old.version > new.version:
        old, new = new, old
    return render(request, "catalog/compare.html", {"cmp": selectors.compare(old, new)})


@login_required
def list_publish(request, pk: int):
    item_list = _visible_list(request, pk)
    if response := _refuse_unless_editable(request, item_list):
        return response
    form = PublishForm(request.POST or None, initial={"note": item_list.note})
    if request.method == "POST" and form.is_valid():
        try:
            services.publish_list(
                user=request.user, item_list=item_list, note=form.cleaned_data["note"]
            )
        except services.CatalogError as exc:
            form.add_error("note" if "调整说明" in str(exc) else None, str(exc))
        else:
            messages.success(request, f"已发布{item_list.owner_name}第{item_list.version}版。")
            return redirect("catalog:detail", pk=item_list.pk)
    previous = selectors.previous_published(item_list)
    return render(
        request,
        "catalog/publish.html",
        {
            "item_list": item_list,
            "form": form,
            "previous": previous,
            "cmp": selectors.compare(previous, item_list) if previous else None,
            "counts": selectors.class_counts(item_list),
        },
    )


@login_required
@require_POST
def list_discard(request, pk: int):
    item_list = _visible_list(request, pk)
    try:
        services.discard_draft(user=request.user, item_list=item_list)
    except services.CatalogError as exc:
        messages.error(request, str(exc))
        return redirect("catalog:detail", pk=item_list.pk)
    messages.success(request, f"已删除{item_list.owner_name}的草稿第{item_list.version}版。")
    return redirect("catalog:lists")


@login_required
@require_POST
def department_new_version(request, department_id: int):
    department = get_object_or_404(Department, pk=department_id)
    if not selectors.in_jurisdiction(request.user, department.jurisdiction_id):
        raise Http404("没有找到该部门。")
    try:
        draft = services.new_version(user=request.user, department=department)
    except services.CatalogError as exc:
        messages.error(request, str(exc))
        return redirect("catalog:lists")
    messages.success(request, f"已创建{department.name}抽查事项清单第{draft.version}版草稿。")
    return redirect("catalog:detail", pk=draft.pk)


@login_required
@require_POST
def joint_new_version(request):
    try:
        draft = services.new_joint_version(user=request.user)
    except services.CatalogError as exc:
        messages.error(request, str(exc))
        return redirect("catalog:lists")
    messages.success(request, f"已创建联合抽查事项清单第{draft.version}版草稿。")
    return redirect("catalog:detail", pk=draft.pk)


@login_required
@require_POST
def joint_build(request):
    merge = request.POST.get("merge", "1") == "1"
    try:
        draft = services.build_joint_list(user=request.user, merge=merge)
    except services.CatalogError as exc:
        messages.error(request, str(exc))
        return redirect("catalog:lists")
    messages.success(
        request, f"已从各部门已发布的C类事项生成联合抽查事项清单第{draft.version}版草稿。"
    )
    return redirect("catalog:detail", pk=draft.pk)


# --- items --------------------------------------------------------------------------------------


@login_required
def item_detail(request, pk: int):
    item = _visible_item(request, pk)
    sources = (
        item.source_items.select_related("item_list__department") if item.item_list.is_joint else []
    )
    return render(
        request,
        "catalog/item_detail.html",
        {
            "item": item,
            "item_list": item.item_list,
            "sources": sources,
            "can_edit": selectors.can_edit_list(request.user, item.item_list),
            "history": audit.history(item)[:50],
        },
    )


@login_required
def item_create(request, list_pk: int):
    item_list = _visible_list(request, list_pk)
    if response := _refuse_unless_editable(request, item_list):
        return response
    if item_list.is_joint:
        messages.error(
            request, "联合抽查事项清单的事项由各部门已发布的C类事项生成，请使用“重新生成”。"
        )
        return redirect("catalog:detail", pk=item_list.pk)
    form = ItemForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            item = services.create_item(
                user=request.user, item_list=item_list, data=form.cleaned_data
            )
        except services.ItemInvalid as exc:
            form.add_service_errors(exc.errors)
        except services.CatalogError as exc:
            messages.error(request, str(exc))
            return redirect("catalog:detail", pk=item_list.pk)
        else:
            messages.success(request, f"已新增事项 {item.code}。")
            if "add_another" in request.POST:
                return redirect("catalog:item_create", list_pk=item_list.pk)
            return redirect("catalog:detail", pk=item_list.pk)
    return render(
        request, "catalog/item_form.html", {"form": form, "item_list": item_list, "item": None}
    )


@login_required
def item_edit(request, pk: int):
    item = _visible_item(request, pk)
    item_list = item.item_list
    if response := _refuse_unless_editable(request, item_list):
        return response
    form = ItemForm(request.POST or None, initial=ItemForm.initial_from(item))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_item(user=request.user, item=item, data=form.cleaned_data)
        except services.ItemInvalid as exc:
            form.add_service_errors(exc.errors)
        except services.CatalogError as exc:
            messages.error(request, str(exc))
            return redirect("catalog:detail", pk=item_list.pk)
        else:
            messages.success(request, f"已保存事项 {item.code}。")
            return redirect("catalog:detail", pk=item_list.pk)
    return render(
        request, "catalog/item_form.html", {"form": form, "item_list": item_list, "item": item}
    )


@login_required
def item_delete(request, pk: int):
    item = _visible_item(request, pk)
    item_list = item.item_list
    if response := _refuse_unless_editable(request, item_list):
        return response
    if request.method == "POST":
        try:
            services.delete_item(user=request.user, item=item)
        except services.CatalogError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"已删除事项 {item.code}。")
        return redirect("catalog:detail", pk=item_list.pk)
    return render(request, "catalog/item_delete.html", {"item": item, "item_list": item_list})


# --- public -------------------------------------------------------------------------------------


def public_index(request):
    joint, lists = selectors.public_lists()
    return render(request, "catalog/public_index.html", {"joint_lists": joint, "lists": lists})


def public_detail(request, pk: int):
    item_list = get_object_or_404(
        ItemList.objects.select_related("department", "jurisdiction").exclude(
            status=ItemList.Status.DRAFT
        ),
        pk=pk,
    )
    context = _items_context(request, item_list)
    return render(request, "catalog/public_detail.html", context)
