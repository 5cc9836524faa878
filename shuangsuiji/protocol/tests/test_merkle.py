"""The public log's Merkle tree (DRAW-PROTOCOL.md §3) against RFC 9162 / Certificate Transparency.

Known answers come from the CT reference test data (the eight-leaf corpus); the rest checks the
proof builders against a naive transcription of the RFC's recursive definitions, and the
verifiers (RFC 9162 §2.1.3.2, §2.1.4.2) on every proof of every size up to 40, and on tampered
proofs."""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shuangsuiji.protocol import merkle as M

CT_LEAVES = [bytes.fromhex(h) for h in [
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]]  # fmt: skip
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = [
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CT_CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip

LEAVES = [M.leaf_hash(e) for e in CT_LEAVES]


# A naive transcription of RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 on the entries themselves.
def _k(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d):
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m, d):
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m, d, b):
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def entries(n):
    return [f"entry {i}".encode() for i in range(n)]


def test_empty_log():
    assert M.root([]) == hashlib.sha256(b"").digest() == M.EMPTY_ROOT
    assert M.tree_head([]) == {"tree_size": 0, "root_hash": hashlib.sha256(b"").hexdigest()}


@pytest.mark.parametrize("n", range(1, 9))
def test_ct_roots(n):
    assert M.root(LEAVES[:n]).hex() == CT_ROOTS[n - 1]
    assert M.root(LEAVES, n).hex() == CT_ROOTS[n - 1]


@pytest.mark.parametrize(("index", "size", "proof"), CT_INCLUSION)
def test_ct_inclusion_proofs(index, size, proof):
    assert M.proof_json(M.inclusion_proof(LEAVES, index, size)) == proof
    root = bytes.fromhex(CT_ROOTS[size - 1])
    assert M.verify_inclusion(LEAVES[index], index, size, [bytes.fromhex(p) for p in proof], root)


@pytest.mark.parametrize(("first", "second", "proof"), CT_CONSISTENCY)
def test_ct_consistency_proofs(first, second, proof):
    assert M.proof_json(M.consistency_proof(LEAVES, first, second)) == proof
    assert M.verify_consistency(
        first, second, bytes.fromhex(CT_ROOTS[first - 1]), bytes.fromhex(CT_ROOTS[second - 1]),
        [bytes.fromhex(p) for p in proof],
    )  # fmt: skip


def tampered(proof):
    """Every single-step corruption of a proof."""
    for i in range(len(proof)):
        flipped = bytearray(proof[i])
        flipped[i % 32] ^= 1
        yield [*proof[:i], bytes(flipped), *proof[i + 1 :]]
        yield proof[:i] + proof[i + 1 :]  # one hash dropped
    yield [*proof, proof[-1] if proof else M.EMPTY_ROOT]  # one hash too many
    if len(proof) > 1:
        yield proof[::-1]


def test_every_inclusion_proof_up_to_40_verifies_and_tampering_fails():
    data = entries(40)
    leaves = [M.leaf_hash(e) for e in data]
    for size in range(1, 41):
        root = M.root(leaves, size)
        assert root == ref_mth(data[:size])
        for index in range(size):
            proof = M.inclusion_proof(leaves, index, size)
            assert proof == ref_path(index, data[:size])
            assert M.verify_inclusion(leaves[index], index, size, proof, root)
            for bad in tampered(proof):
                assert not M.verify_inclusion(leaves[index], index, size, bad, root)
            other = leaves[(index + 1) % size]
            if size > 1:
                assert not M.verify_inclusion(other, index, size, proof, root)
                assert not M.verify_inclusion(leaves[index], (index + 1) % size, size, proof, root)
            assert not M.verify_inclusion(leaves[index], index, size, proof, M.EMPTY_ROOT)
            assert not M.verify_inclusion(leaves[index], size, size, proof, root)


def test_every_consistency_proof_up_to_40_verifies_and_tampering_fails():
    data = entries(40)
    leaves = [M.leaf_hash(e) for e in data]
    roots = [M.root(leaves, n) for n in range(41)]
    for second in range(0, 41):
        for first in range(0, second + 1):
            proof = M.consistency_proof(leaves, first, second)
            if first in (0, second):
                assert proof == []
            else:
                assert proof == ref_subproof(first, data[:second], True)
            assert M.verify_consistency(first, second, roots[first], roots[second], proof)
            if 0 < first < second:
                for bad in tampered(proof):
                    assert not M.verify_consistency(first, second, roots[first], roots[second], bad)
                assert not M.verify_consistency(
                    first, second, roots[first - 1], roots[second], proof
                )
                assert not M.verify_consistency(
                    first, second, roots[first], roots[second - 1], proof
                )
                assert not M.verify_consistency(
                    first - 1, second, roots[first], roots[second], proof
                )
                assert not M.verify_consistency(first, second, roots[first], roots[second], [])
            if first == second and second > 0:
                assert not M.verify_consistency(first, second, roots[first], roots[0], [])
                assert not M.verify_consistency(
                    first, second, roots[first], roots[second], [roots[0]]
                )
    assert not M.verify_consistency(5, 4, roots[5], roots[4], [])
    assert not M.verify_consistency(0, 3, roots[1], roots[3], [])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=20), min_size=1, max_size=70), st.data())
def test_random_logs(data_entries, data):
    leaves = [M.leaf_hash(e) for e in data_entries]
    n = len(leaves)
    assert M.root(leaves) == ref_mth(data_entries)
    index = data.draw(st.integers(0, n - 1))
    assert M.verify_inclusion(
        leaves[index], index, n, M.inclusion_proof(leaves, index), M.root(leaves)
    )
    first = data.draw(st.integers(0, n))
    proof = M.consistency_proof(leaves, first)
    assert M.verify_consistency(first, n, M.root(leaves, first), M.root(leaves), proof)


def test_a_changed_entry_breaks_consistency():
    data = entries(12)
    leaves = [M.leaf_hash(e) for e in data]
    old_root = M.root(leaves, 7)
    edited = leaves[:]
    edited[3] = M.leaf_hash(b"silently edited")
    proof = M.consistency_proof(edited, 7, 12)
    assert not M.verify_consistency(7, 12, old_root, M.root(edited), proof)


def test_argument_checks():
    with pytest.raises(ValueError):
        M.inclusion_proof(LEAVES, 8)
    with pytest.raises(ValueError):
        M.inclusion_proof(LEAVES, 0, 9)
    with pytest.raises(ValueError):
        M.consistency_proof(LEAVES, 5, 4)
    assert M.node_hash(LEAVES[0], LEAVES[1]) == bytes.fromhex(CT_ROOTS[1])
