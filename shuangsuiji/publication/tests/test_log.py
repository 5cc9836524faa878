"""The append-only log: indexes, the exact bytes, immutability, and the stored tree against
shuangsuiji.protocol.merkle (proofs byte-equal to merkle's, and accepted by its verifiers)."""

import pytest

from shuangsuiji.protocol import draw as D
from shuangsuiji.protocol import merkle
from shuangsuiji.protocol.tests.helpers import build_draw, draw_vector
from shuangsuiji.publication import selectors, services, tree
from shuangsuiji.publication.models import ImmutableError, LogEntry, LogHead, LogSubtree

from .helpers import fill, result_doc

pytestmark = pytest.mark.django_db


def test_empty_log_head():
    assert selectors.head() == (0, merkle.EMPTY_ROOT)


def test_append_keeps_exact_bytes_and_describes_them():
    case = build_draw(draw_vector("sealed-ratio-unannounced"))
    a = services.append(case.announcement_bytes)
    r = services.append(case.release_bytes)
    # not canonical JSON, extra spaces: kept byte for byte
    odd = '{ "type": "correction", "corrects": 1, "text": "更正" }'.encode()
    c = services.append(odd)
    assert (a.index, r.index, c.index) == (0, 1, 2)
    assert a.kind == LogEntry.Kind.DRAW_ANNOUNCEMENT and a.stage == "announcement"
    assert r.kind == LogEntry.Kind.DRAW_RELEASE and r.task == case.release["task"]
    assert r.draw == case.release["draw"] and r.protocol == "ssj-draw/1"
    assert c.kind == LogEntry.Kind.CORRECTION and c.corrects == 1
    stored = LogEntry.objects.get(index=2)
    assert bytes(stored.document) == odd
    assert bytes(stored.leaf_hash) == merkle.leaf_hash(odd)
    assert selectors.entry_bytes(1) == case.release_bytes
    docs = [case.announcement_bytes, case.release_bytes, odd]
    assert selectors.head() == (3, merkle.root([merkle.leaf_hash(d) for d in docs]))


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"not json", "UTF-8 JSON"),
        (b"\xff\xfe", "UTF-8 JSON"),
        (b'{"type": "result", "type": "result"}', "UTF-8 JSON"),  # duplicate key
        (b"[1, 2]", "JSON 对象"),
        (b'{"task": "x"}', "说明自己是什么"),
        (b'{"protocol": "ssj-draw/1", "stage": "draft"}', "说明自己是什么"),
        (b'{"protocol": "ssj-draw/1", "stage": "release", "type": "result"}', "说明自己是什么"),
        (b'{"type": "result", "task": 5}', "task"),
        (b'{"type": "result", "draw": 0}', "draw"),
        (b'{"type": "correction"}', "corrects"),
        (b'{"type": "correction", "corrects": 0}', "不存在"),  # no entry 0 yet
    ],
)
def test_bad_documents_refused_and_nothing_appended(document, message):
    with pytest.raises(services.LogError, match=message):
        services.append(document)
    assert LogEntry.objects.count() == 0
    assert selectors.head()[0] == 0


def test_append_wants_bytes():
    with pytest.raises(TypeError):
        services.append('{"type": "result"}')


def test_entries_cannot_be_changed_or_deleted():
    services.append(result_doc(0))
    entry = LogEntry.objects.get(index=0)
    entry.document = b'{"type": "result", "n": 666}'
    with pytest.raises(ImmutableError):
        entry.save()
    with pytest.raises(ImmutableError):
        entry.delete()
    with pytest.raises(ImmutableError):
        LogEntry.objects.filter(index=0).update(document=b"{}")
    with pytest.raises(ImmutableError):
        LogEntry.objects.all().delete()
    # a new object with an existing index is an INSERT, refused by the primary key
    with pytest.raises(Exception):  # noqa: B017 - IntegrityError, wrapped per backend
        LogEntry(
            index=0, document=b"{}", leaf_hash=b"", kind="result", published_at=entry.published_at
        ).save()


def test_subtrees_cannot_be_changed():
    fill(tree.CHUNK)
    node = LogSubtree.objects.get()
    assert (node.level, node.start) == (tree.CHUNK_LEVEL, 0)
    with pytest.raises(ImmutableError):
        node.save()
    with pytest.raises(ImmutableError):
        LogSubtree.objects.all().delete()


def test_an_index_is_never_reused():
    services.append(result_doc(0))
    LogHead.objects.all().delete()  # even if the head row were lost, entry 0 is not overwritten
    with pytest.raises(Exception):  # noqa: B017 - IntegrityError on the primary key
        services.append(result_doc(1))


def _check_against_merkle(docs: list[bytes]) -> None:
    leaves = [merkle.leaf_hash(d) for d in docs]
    n = len(docs)
    size, root = selectors.head()
    assert (size, root) == (n, merkle.root(leaves))
    for m in range(n + 1):
        t = tree.StoredTree(m)
        assert t.root() == merkle.root(leaves, m)
        for i in range(m):
            proof = t.inclusion_proof(i)
            assert proof == merkle.inclusion_proof(leaves, i, m)
            assert merkle.verify_inclusion(leaves[i], i, m, proof, merkle.root(leaves, m))
        for first in range(m + 1):
            proof = t.consistency_proof(first)
            assert proof == merkle.consistency_proof(leaves, first, m)
            assert merkle.verify_consistency(
                first, m, merkle.root(leaves, first), merkle.root(leaves, m), proof
            )


def test_heads_and_proofs_match_merkle_for_sizes_0_to_20():
    docs = []
    for n in range(21):
        _check_against_merkle(docs)
        docs.append(result_doc(n))
        services.append(docs[-1])


def test_stored_subtrees_with_a_small_chunk(monkeypatch):
    # Chunks of 4 leaves: 37 entries store subtrees of 4, 8, 16 and 32 and use them in every proof.
    monkeypatch.setattr(tree, "CHUNK_LEVEL", 2)
    monkeypatch.setattr(tree, "CHUNK", 4)
    docs = fill(37)
    assert LogSubtree.objects.filter(level=2).count() == 9
    assert LogSubtree.objects.filter(level=5).count() == 1
    _check_against_merkle(docs)
    # each stored hash is the subtree's own MTH
    leaves = [merkle.leaf_hash(d) for d in docs]
    for node in LogSubtree.objects.all():
        width = 1 << node.level
        assert bytes(node.hash) == merkle.root(leaves[node.start : node.start + width])


def test_missing_stored_subtrees_are_recomputed(monkeypatch):
    monkeypatch.setattr(tree, "CHUNK_LEVEL", 2)
    monkeypatch.setattr(tree, "CHUNK", 4)
    docs = fill(21)
    # a log filled before the cache existed: the same answers from the leaves
    LogSubtree.objects.all()._raw_delete(LogSubtree.objects.db)
    _check_against_merkle(docs)


def test_head_is_read_in_few_queries(django_assert_max_num_queries):
    fill(tree.CHUNK * 2 + 3)
    with django_assert_max_num_queries(3):
        selectors.head()
    size = tree.CHUNK * 2 + 3
    with django_assert_max_num_queries(8):
        selectors.inclusion(7, size)
    with django_assert_max_num_queries(10):
        selectors.consistency(300, size)


def test_release_bytes_of_documents_are_json():
    doc = services.append(D.dumps({"type": "result", "task": "T1", "text": "合格"}))
    assert (
        selectors.entry_bytes(doc.index).decode() == '{"task":"T1","text":"合格","type":"result"}'
    )
    assert selectors.entry_bytes(doc.index + 1) is None
