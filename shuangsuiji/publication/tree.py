"""The log's Merkle tree read from the database (RFC 9162 §2.1, as shuangsuiji.protocol.merkle).

``merkle`` builds heads and proofs from the full list of leaf hashes: O(n) hashes and rows, about
0.3 s per call at 100,000 entries before reading them. Here every complete, aligned subtree of at
least ``CHUNK`` leaves is stored once (``LogSubtree``, written by the append that completes it), so a
head or proof reads O(log n) subtree rows and at most a few chunks of leaves. The proofs are the
same as ``merkle.inclusion_proof`` / ``consistency_proof`` (the tests compare them); the leaf and
node hashing is ``merkle``'s own.
"""

from __future__ import annotations

from shuangsuiji.protocol import merkle

from .models import LogEntry, LogSubtree

CHUNK_LEVEL = 8
CHUNK = 1 << CHUNK_LEVEL  # leaves per stored bottom subtree


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2), as RFC 9162 splits."""
    return 1 << ((n - 1).bit_length() - 1)


class StoredTree:
    """The tree over the first ``size`` entries of the log; one instance per request or append."""

    def __init__(self, size: int):
        self.size = size
        self._chunks: dict[int, list[bytes]] = {}
        self._nodes: dict[tuple[int, int], bytes] = {}

    # --- reading ---------------------------------------------------------------------------------

    def _chunk(self, c: int) -> list[bytes]:
        if c not in self._chunks:
            lo = c * CHUNK
            rows = LogEntry.objects.filter(index__gte=lo, index__lt=min(lo + CHUNK, self.size))
            self._chunks[c] = [
                bytes(h) for h in rows.order_by("index").values_list("leaf_hash", flat=True)
            ]
        return self._chunks[c]

    def leaf(self, index: int) -> bytes:
        return self._chunk(index // CHUNK)[index % CHUNK]

    def _stored(self, level: int, start: int) -> bytes:
        key = (level, start)
        if key not in self._nodes:
            row = LogSubtree.objects.filter(level=level, start=start).values_list("hash", flat=True)
            found = row.first()
            if found is not None:
                self._nodes[key] = bytes(found)
            elif level == CHUNK_LEVEL:
                self._nodes[key] = merkle.root(self._chunk(start // CHUNK))
            else:  # not stored (yet): from its two halves, themselves stored or computed
                half = 1 << (level - 1)
                self._nodes[key] = merkle.node_hash(
                    self._stored(level - 1, start), self._stored(level - 1, start + half)
                )
        return self._nodes[key]

    def mth(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for the ranges RFC 9162's recursion visits (``lo`` a multiple of the
        largest power of two below ``hi - lo``)."""
        n = hi - lo
        if n == 0:
            return merkle.EMPTY_ROOT
        if n >= CHUNK and n & (n - 1) == 0 and lo % n == 0:
            return self._stored(n.bit_length() - 1, lo)
        if n <= CHUNK and lo // CHUNK == (hi - 1) // CHUNK:
            base = (lo // CHUNK) * CHUNK
            return merkle.root(self._chunk(lo // CHUNK)[lo - base : hi - base])
        k = _split(n)
        return merkle.node_hash(self.mth(lo, lo + k), self.mth(lo + k, hi))

    def root(self) -> bytes:
        return self.mth(0, self.size)

    # --- proofs (RFC 9162 §2.1.3.1 and §2.1.4.1, as merkle.py) ------------------------------------

    def inclusion_proof(self, index: int) -> list[bytes]:
        if not 0 <= index < self.size:
            raise ValueError(f"leaf index {index} out of range for tree size {self.size}")
        proof: list[bytes] = []
        lo, hi = 0, self.size
        while hi - lo > 1:
            k = _split(hi - lo)
            if index - lo < k:
                proof.append(self.mth(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self.mth(lo, lo + k))
                lo += k
        return proof[::-1]

    def consistency_proof(self, first: int) -> list[bytes]:
        if not 0 <= first <= self.size:
            raise ValueError(f"first size {first} out of range 0..{self.size}")
        if first in (0, self.size):
            return []
        proof: list[bytes] = []
        m, lo, hi, complete = first, 0, self.size, True
        while True:
            n = hi - lo
            if m == n:
                if not complete:
                    proof.append(self.mth(lo, hi))
                break
            k = _split(n)
            if m <= k:
                proof.append(self.mth(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self.mth(lo, lo + k))
                lo, m, complete = lo + k, m - k, False
        return proof[::-1]

    # --- writing (inside the append's lock) -------------------------------------------------------

    def store_completed_subtrees(self) -> None:
        """After appending leaf ``size - 1``: store every stored-size subtree it completes."""
        for level in range(CHUNK_LEVEL, self.size.bit_length()):
            width = 1 << level
            if self.size % width:
                break
            start = self.size - width
            self._nodes.pop((level, start), None)
            value = self._stored(level, start)  # computed from the level below (or the leaves)
            LogSubtree.objects.create(level=level, start=start, hash=value)
