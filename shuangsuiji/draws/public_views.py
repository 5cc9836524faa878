"""The public side of the draws (no login): the announcement at once, the release and its two
files only once released (for unannounced checks: after the on-site checks), never the strata
file. Documents are served as the exact bytes appended to the public log."""

from __future__ import annotations

import json
from functools import wraps

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import engine, selectors
from .files import file_response

NOT_RELEASED = (
    "这次抽取的结果尚未公开：不预先告知的检查，名单在现场检查结束后公开；"
    "或抽取尚未完成。公告已公开，可先查看公告。"
)


def _answers_404(page: bool = False):
    """The public's 404s say why, in Chinese: as JSON for the documents and files (scripts read
    them), as a page for the draw's page."""

    def wrap(view):
        @wraps(view)
        def inner(request, *args, **kwargs):
            try:
                return view(request, *args, **kwargs)
            except Http404 as exc:
                message = str(exc) or "没有找到。"
                if page:
                    return render(
                        request, "draws/public_missing.html", {"message": message}, status=404
                    )
                return JsonResponse(
                    {"error": message}, status=404, json_dumps_params={"ensure_ascii": False}
                )

        return inner

    return wrap


def _json(data: bytes) -> HttpResponse:
    response = HttpResponse(bytes(data), content_type="application/json; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response


def _released(code: str, number: int):
    draw = selectors.public_draw(code, number)
    if draw.released_at is None:
        raise Http404(NOT_RELEASED)
    return draw


@require_GET
def index(request):
    return render(request, "draws/public_index.html", {"draws": selectors.public_draws()})


@require_GET
@_answers_404(page=True)
def page(request, code: str, number: int):
    draw = selectors.public_draw(code, number)
    released = draw.released_at is not None
    return render(
        request,
        "draws/public_draw.html",
        {
            "draw": draw,
            "task": draw.task,
            "released": released,
            "selected": json.loads(bytes(draw.record))["selected"] if released else [],
        },
    )


@require_GET
@_answers_404()
def announcement(request, code: str, number: int):
    return _json(selectors.public_draw(code, number).announcement)


@require_GET
@_answers_404()
def release(request, code: str, number: int):
    return _json(_released(code, number).record)


@require_GET
@_answers_404()
def abandoned(request, code: str, number: int):
    draw = selectors.public_draw(code, number)
    if draw.abandoned is None:
        raise Http404("这次抽取没有作废。")
    return _json(draw.abandoned)


@require_GET
@_answers_404()
def population(request, code: str, number: int):
    return file_response(_released(code, number), engine.POPULATION, public=True)


@require_GET
@_answers_404()
def excluded(request, code: str, number: int):
    return file_response(_released(code, number), engine.EXCLUDED, public=True)
