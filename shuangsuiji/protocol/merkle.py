"""The public log's Merkle tree (DRAW-PROTOCOL.md §3; RFC 9162 §2.1, as Certificate Transparency).

Entry ``i`` (from 0) is the exact bytes published; leaf hash ``SHA-256(0x00 || entry)``, interior
node ``SHA-256(0x01 || left || right)``, the tree over ``n`` entries split at the largest power of
two smaller than ``n``, and the empty tree's root ``SHA-256("")``. Functions that build proofs take
the list of leaf hashes (what a log stores); the verifiers need only the proof and the roots.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _subtree(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    """MTH of ``leaves[lo:hi]`` (leaf hashes), computed bottom-up level by level."""
    level = list(leaves[lo:hi])
    if not level:
        return EMPTY_ROOT
    # Pairing from the left and carrying an odd last node up gives RFC 9162's split exactly.
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def root(leaves: Sequence[bytes], size: int | None = None) -> bytes:
    """The tree head's root hash over the first ``size`` leaf hashes (all by default)."""
    size = len(leaves) if size is None else size
    _check_size(size, len(leaves))
    return _subtree(leaves, 0, size)


def tree_head(leaves: Sequence[bytes], size: int | None = None) -> dict:
    size = len(leaves) if size is None else size
    return {"tree_size": size, "root_hash": root(leaves, size).hex()}


def _check_size(size: int, available: int) -> None:
    if type(size) is not int or not 0 <= size <= available:
        raise ValueError(f"tree size {size!r} out of range 0..{available}")


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int | None = None) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1."""
    size = len(leaves) if size is None else size
    _check_size(size, len(leaves))
    if type(index) is not int or not 0 <= index < size:
        raise ValueError(f"leaf index {index!r} out of range for tree size {size}")
    proof: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index - lo < k:
            proof.append(_subtree(leaves, lo + k, hi))
            hi = lo + k
        else:
            proof.append(_subtree(leaves, lo, lo + k))
            lo += k
    return proof[::-1]  # the recursion lists the deepest sibling first


def consistency_proof(
    leaves: Sequence[bytes], first: int, second: int | None = None
) -> list[bytes]:
    """PROOF(first, D[second]) of RFC 9162 §2.1.4.1; empty when first is 0 or equals second."""
    second = len(leaves) if second is None else second
    _check_size(second, len(leaves))
    if type(first) is not int or not 0 <= first <= second:
        raise ValueError(f"first size {first!r} out of range 0..{second}")
    if first in (0, second):
        return []
    proof: list[bytes] = []
    m, lo, hi, complete = first, 0, second, True  # SUBPROOF(m, D[lo:hi], complete)
    while True:
        n = hi - lo
        if m == n:
            if not complete:
                proof.append(_subtree(leaves, lo, hi))
            break
        k = _split(n)
        if m <= k:
            proof.append(_subtree(leaves, lo + k, hi))
            hi = lo + k
        else:
            proof.append(_subtree(leaves, lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    return proof[::-1]


def verify_inclusion(
    entry_hash: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show leaf ``entry_hash`` at ``index`` under the root?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, entry_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2, with the protocol's empty proofs for first 0 and first == second."""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: the first tree is a subtree
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


def proof_json(proof: Sequence[bytes]) -> list[str]:
    """Hashes in lowercase hex, as the portal serves them."""
    return [h.hex() for h in proof]
