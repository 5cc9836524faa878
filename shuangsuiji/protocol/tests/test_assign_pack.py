"""The parsed files kept for a later step (pack_inputs / unpack_inputs) and the paused collector:
same inputs, same run, and a packed copy of other files is never used."""

import gc
import random
from dataclasses import astuple

import pytest

from shuangsuiji.protocol import assign as A

from .helpers import assign_vectors

VECTORS = assign_vectors()


def files_of(vector: dict) -> tuple[list[bytes], list[str]]:
    i = vector["input"]
    files = [
        A.teams_file(map(tuple, i["teams"])),
        A.need_file(map(tuple, i["need"])),
        A.eligibility_file(map(tuple, i["eligibility"])),
    ]
    return files, sorted({d for _, d, _ in i["need"]})


def random_files(rnd: random.Random, teams: int = 60) -> tuple[list[bytes], list[str]]:
    departments = ["GAJ", "GAJX", "SCJGJ"]  # GAJ / GAJX: TAB sorts before X
    pairs = A.form_teams([f"91{n:016d}" for n in range(teams)])
    codes = {d: [f"{d}-{n}" for n in range(rnd.randint(1, 30))] for d in departments}
    need = [(t, d, rnd.choice([1, 1, 2, 3])) for t, _ in pairs for d in departments]
    eligibility = [(t, d, c) for t, d, _ in need for c in codes[d] if rnd.random() < 0.6]
    files = [A.teams_file(pairs), A.need_file(need), A.eligibility_file(eligibility)]
    return files, departments


def run_of(inputs: A.Inputs, vector: dict | None = None) -> dict:
    i = (vector or VECTORS[0])["input"]
    assignment = A.perform(
        inputs,
        task=i["task"],
        draw=i["draw"],
        run_number=i["run"],
        lead_department=inputs.departments[-1] if vector is None else i["lead_department"],
        draw_seed=i["draw_seed"],
        entropy=i["entropy"] if vector else {"beacon.fc3d.2027061": "482"},
        replacement_requests=i["replacement_requests"] if vector else (),
    )
    return A.record(assignment, announcement_sha256="0" * 64)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_unpacked_inputs_are_the_parsed_ones_and_run_the_same(vector):
    files, departments = files_of(vector)
    parsed = A.parse_files(*files, departments)
    unpacked = A.unpack_inputs(A.pack_inputs(parsed), *files, departments)
    assert unpacked is not None and astuple(unpacked) == astuple(parsed)
    assert list(unpacked.eligible) == list(parsed.eligible)  # same order too
    assert run_of(unpacked, vector) == run_of(parsed, vector)


@pytest.mark.parametrize("seed", range(5))
def test_unpacked_random_inputs_run_the_same(seed):
    files, departments = random_files(random.Random(seed))
    parsed = A.parse_files(*files, departments)
    unpacked = A.unpack_inputs(A.pack_inputs(parsed), *files, departments)
    assert unpacked is not None and astuple(unpacked) == astuple(parsed)
    assert run_of(unpacked) == run_of(parsed)
    # One string per inspector, as parse_files gives (interned).
    codes = [c for cs in unpacked.eligible.values() for c in cs]
    assert len({id(c) for c in codes}) == len(set(codes))


def test_a_packed_copy_of_other_files_is_not_used():
    files, departments = random_files(random.Random(7))
    packed = A.pack_inputs(A.parse_files(*files, departments))
    assert A.unpack_inputs(packed, *files, departments) is not None
    # Other, equally canonical files (one need changed; one eligibility line less).
    other_need = files[1].replace(b"\t1\n", b"\t2\n", 1)
    assert other_need != files[1]
    A.parse_files(files[0], other_need, files[2], departments)
    assert A.unpack_inputs(packed, files[0], other_need, files[2], departments) is None
    lines = files[2].splitlines(keepends=True)
    fewer = b"".join(lines[:3] + lines[4:])
    A.parse_files(files[0], files[1], fewer, departments)
    assert A.unpack_inputs(packed, files[0], files[1], fewer, departments) is None
    # Other departments than the packed parse was checked for.
    assert A.unpack_inputs(packed, *files, departments[:-1]) is None


@pytest.mark.parametrize(
    "packed",
    [b"", b"garbage", b"\x00" * 40, A.pack_inputs.__doc__.encode()],
    ids=["empty", "text", "zeros", "doc"],
)
def test_bytes_that_are_no_packed_copy_are_not_used(packed):
    files, departments = random_files(random.Random(3))
    assert A.unpack_inputs(packed, *files, departments) is None


def test_a_truncated_copy_or_one_from_another_format_is_not_used(monkeypatch):
    files, departments = random_files(random.Random(4))
    packed = A.pack_inputs(A.parse_files(*files, departments))
    assert A.unpack_inputs(packed[: len(packed) // 2], *files, departments) is None
    monkeypatch.setattr(A, "_PACKED", ("ssj-assign/1 inputs", 1, (2, 99), 9))
    assert A.unpack_inputs(packed, *files, departments) is None


def test_the_collector_is_paused_only_while_parsing_and_running():
    files, departments = random_files(random.Random(5))
    assert gc.isenabled()
    inputs = A.parse_files(*files, departments)
    run_of(inputs)
    A.unpack_inputs(A.pack_inputs(inputs), *files, departments)
    assert gc.isenabled()
    with pytest.raises(A.ProtocolError):
        A.parse_files(files[0], files[1], files[2] + files[2], departments)  # not canonical
    assert gc.isenabled()
    gc.disable()
    try:
        A.parse_files(*files, departments)
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()
