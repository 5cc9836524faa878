"""Public pages and JSON endpoints: no login, GET only except the verify upload."""

from __future__ import annotations

import re

from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from shuangsuiji.protocol import verify as V

from . import selectors
from .forms import VerifyAssignForm, VerifyDrawForm

_UINT = re.compile(r"[0-9]{1,18}")  # plain digits: no sign, no spaces, fits a bigint


class BadParam(Exception):
    pass


def _json(data: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-cache"
    return response


def _error(message: str, status: int = 400) -> JsonResponse:
    return _json({"error": message}, status=status)


def _uint(request, name: str, default: int | None = None) -> int:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        if default is None:
            raise BadParam(f"缺少参数 {name}。")
        return default
    if not _UINT.fullmatch(raw):
        raise BadParam(f"参数 {name} 应为非负整数，收到的是“{raw[:40]}”。")
    return int(raw)


@require_GET
def log_head(request):
    size, root = selectors.head()
    return _json({"size": size, "root": root.hex()})


@require_GET
def log_entry(request, index: int):
    data = selectors.entry_bytes(index)
    if data is None:
        size, _ = selectors.head()
        return _error(
            f"条目 {index} 不存在：公开日志目前共有 {size} 条（序号 0 到 {size - 1}）。", 404
        )
    response = HttpResponse(data, content_type="application/json; charset=utf-8")
    # An entry's bytes never change once published.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@require_GET
def proof_inclusion(request):
    head_size, _ = selectors.head()
    try:
        index = _uint(request, "index")
        size = _uint(request, "size", default=head_size)
    except BadParam as exc:
        return _error(str(exc))
    if not 1 <= size <= head_size:
        return _error(f"size 超出范围：应在 1 到当前日志大小 {head_size} 之间，收到 {size}。")
    if index >= size:
        return _error(
            f"index 超出范围：树大小为 {size} 时应在 0 到 {size - 1} 之间，收到 {index}。"
        )
    return _json(selectors.inclusion(index, size))


@require_GET
def proof_consistency(request):
    head_size, _ = selectors.head()
    try:
        first = _uint(request, "first")
        second = _uint(request, "second", default=head_size)
    except BadParam as exc:
        return _error(str(exc))
    if second > head_size:
        return _error(f"second 超出范围：应不大于当前日志大小 {head_size}，收到 {second}。")
    if first > second:
        return _error(f"first 超出范围：应在 0 到 second（{second}）之间，收到 {first}。")
    return _json(selectors.consistency(first, second))


@require_GET
def log_index(request):
    size, root = selectors.head()
    page = Paginator(selectors.entries_page(), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "publication/log.html",
        {"size": size, "root": root.hex(), "page": page},
    )


def _read(upload) -> bytes | None:
    return None if upload is None else upload.read()


@require_http_methods(["GET", "POST"])
def verify_page(request):
    check = request.POST.get("check", "draw") if request.method == "POST" else "draw"
    draw_form, assign_form = VerifyDrawForm(), VerifyAssignForm()
    report = None
    status = 200
    if request.method == "POST":
        if check == "assign":
            assign_form = VerifyAssignForm(request.POST, request.FILES)
            form = assign_form
        else:
            check = "draw"
            draw_form = VerifyDrawForm(request.POST, request.FILES)
            form = draw_form
        if form.is_valid():
            f = {name: _read(form.cleaned_data.get(name)) for name in form.fields}
            if check == "draw":
                report = V.verify(
                    f["record"], f["population"], f["excluded"], f["announcement"], f["strata"]
                )
            else:
                report = V.verify_assign(
                    f["record"], f["teams"], f["need"], f["eligibility"],
                    f["announcement"], f["draw"],
                )  # fmt: skip
        else:
            status = 400
    return render(
        request,
        "publication/verify.html",
        {"draw_form": draw_form, "assign_form": assign_form, "check": check, "report": report},
        status=status,
    )
