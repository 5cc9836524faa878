"""Reads of the public log: the current head, an entry's bytes, proofs."""

from __future__ import annotations

from shuangsuiji.protocol import merkle

from .models import LogEntry, LogHead
from .tree import StoredTree


def head() -> tuple[int, bytes]:
    """(size, root) of the log as last committed."""
    row = LogHead.objects.filter(pk=1).values_list("size", "root").first()
    if row is None:
        return 0, merkle.EMPTY_ROOT
    return row[0], bytes(row[1])


def entry_bytes(index: int) -> bytes | None:
    size, _ = head()
    if index >= size:
        return None  # not yet part of a committed head
    data = LogEntry.objects.filter(index=index).values_list("document", flat=True).first()
    return None if data is None else bytes(data)


def inclusion(index: int, size: int) -> dict:
    tree = StoredTree(size)
    return {
        "index": index,
        "size": size,
        "leaf_hash": tree.leaf(index).hex(),
        "root": tree.root().hex(),
        "proof": merkle.proof_json(tree.inclusion_proof(index)),
    }


def consistency(first: int, second: int) -> dict:
    tree = StoredTree(second)
    return {
        "first": first,
        "second": second,
        "first_root": tree.mth(0, first).hex(),
        "second_root": tree.root().hex(),
        "proof": merkle.proof_json(tree.consistency_proof(first)),
    }


def entries_page():
    """Entries newest first, without their (possibly large) bytes."""
    return LogEntry.objects.defer("document").order_by("-index")
