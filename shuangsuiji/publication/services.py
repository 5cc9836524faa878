"""Appending to the public log (DRAW-PROTOCOL.md §3). The only write this app has."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from shuangsuiji.protocol import merkle
from shuangsuiji.protocol.verify import Unreadable, load_json

from .models import LogEntry, LogHead
from .tree import StoredTree

KINDS = {
    ("ssj-draw/1", "announcement"): LogEntry.Kind.DRAW_ANNOUNCEMENT,
    ("ssj-draw/1", "release"): LogEntry.Kind.DRAW_RELEASE,
    ("ssj-draw/1", "abandoned"): LogEntry.Kind.DRAW_ABANDONED,
    ("ssj-assign/1", "announcement"): LogEntry.Kind.ASSIGN_ANNOUNCEMENT,
    ("ssj-assign/1", "replacement"): LogEntry.Kind.ASSIGN_REPLACEMENT,
    ("ssj-assign/1", "release"): LogEntry.Kind.ASSIGN_RELEASE,
}
TYPES = {"result": LogEntry.Kind.RESULT, "correction": LogEntry.Kind.CORRECTION}


class LogError(ValueError):
    """A document the log does not accept (the message is for the person publishing)."""


def _describe(document_bytes: bytes) -> dict:
    """What the document says it is (§3: by ``protocol`` and ``stage``, or by ``type``)."""
    try:
        doc = load_json(document_bytes, "document")
    except Unreadable as exc:
        raise LogError(f"文档不是有效的 UTF-8 JSON：{exc}") from exc
    if not isinstance(doc, dict):
        raise LogError("文档必须是一个 JSON 对象。")
    protocol, stage, type_ = doc.get("protocol"), doc.get("stage"), doc.get("type")
    if (protocol, stage) in KINDS and type_ is None:
        kind = KINDS[(protocol, stage)]
    elif type_ in TYPES and protocol is None:
        kind = TYPES[type_]
    else:
        raise LogError(
            "文档必须以 protocol 和 stage（抽取的公告、结果、作废，人员抽取的公告、替换、结果）"
            "或 type（result、correction）说明自己是什么。"
        )
    task, draw, corrects = doc.get("task", ""), doc.get("draw"), doc.get("corrects")
    if not isinstance(task, str) or len(task) > 64:
        raise LogError("task 必须是不超过 64 个字符的任务编号。")
    if draw is not None and (type(draw) is not int or draw < 1):
        raise LogError("draw 必须是正整数。")
    if kind == LogEntry.Kind.CORRECTION and (type(corrects) is not int or corrects < 0):
        raise LogError("更正 (correction) 必须用 corrects 指明所更正条目的序号。")
    return {
        "kind": kind,
        "protocol": protocol or "",
        "stage": stage or "",
        "type": type_ or "",
        "task": task,
        "draw": draw,
        "corrects": corrects if kind == LogEntry.Kind.CORRECTION else None,
    }


def _lock_head() -> LogHead:
    # The row may be missing (new database, or a test flush): insert-if-absent, then lock it.
    # On PostgreSQL a concurrent first append waits on the insert instead of failing.
    LogHead.objects.bulk_create(
        [LogHead(pk=1, size=0, root=merkle.EMPTY_ROOT)], ignore_conflicts=True
    )
    return LogHead.objects.select_for_update().get(pk=1)


def append(document_bytes: bytes) -> LogEntry:
    """Append one published document, byte for byte, as the next entry; return it.

    The head row is locked for the whole transaction (on SQLite the IMMEDIATE transaction already
    holds the write lock), so two writers never take the same index. Callers append in the same
    transaction as the change that publishes the document, and audit that change themselves.
    """
    if not isinstance(document_bytes, bytes):
        raise TypeError("append() takes the exact published bytes")
    meta = _describe(document_bytes)
    with transaction.atomic():
        head = _lock_head()
        index = head.size
        if meta["corrects"] is not None and meta["corrects"] >= index:
            raise LogError(f"corrects={meta['corrects']} 指向的条目不存在（日志共 {index} 条）。")
        entry = LogEntry.objects.create(
            index=index,
            document=document_bytes,
            leaf_hash=merkle.leaf_hash(document_bytes),
            published_at=timezone.now(),
            **meta,
        )
        tree = StoredTree(index + 1)
        tree.store_completed_subtrees()
        head.size = index + 1
        head.root = tree.root()
        head.save(update_fields=["size", "root", "updated_at"])
    return entry
