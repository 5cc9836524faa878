"""Serving a draw's canonical files: the exact bytes that were hashed, streamed from disk."""

from __future__ import annotations

from django.http import FileResponse, Http404

from . import engine
from .models import TargetDraw


def file_response(draw: TargetDraw, name: str, *, public: bool) -> FileResponse:
    path = engine.folder(draw.files_dir) / name
    if not draw.files_dir or not path.is_file():
        raise Http404("该文件不存在。")
    response = FileResponse(
        open(path, "rb"),  # noqa: SIM115 (FileResponse closes it)
        content_type="text/tab-separated-values; charset=utf-8",
        as_attachment=False,
        filename=f"{draw.task.code}-{draw.number}-{name}",
    )
    # Published bytes never change; private ones must not sit in shared caches.
    response["Cache-Control"] = "public, max-age=86400" if public else "private, no-store"
    return response
