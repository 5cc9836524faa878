"""verify and verify-assign never crash: any field replaced by any JSON value gives exit 1 or 2."""

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from shuangsuiji.protocol import draw as D

from .helpers import build_assign, build_draw, draw_vector

CASES = {
    name: build_draw(draw_vector(name))
    for name in ("count-weighted-with-exclusions", "sealed-ratio-unannounced")
}
ASSIGN = build_assign()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5)
    | st.sampled_from(["*", "A", "0" * 64, "2027-03-01T09:00:00+08:00"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["id", "n", "k", "A", "*", "x"]), children, max_size=3),
    max_leaves=6,
)  # fmt: skip


def paths(doc, prefix=()):
    """Every key path in a document (objects and arrays)."""
    items = (
        doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    )
    for key, value in items:
        yield (*prefix, key)
        yield from paths(value, (*prefix, key))


def replace(doc, path, value):
    doc = copy.deepcopy(doc)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


RELEASE_PATHS = {n: list(paths(c.release)) for n, c in CASES.items()}
ANNOUNCEMENT_PATHS = {n: list(paths(c.announcement)) for n, c in CASES.items()}
RECORD_PATHS = list(paths(ASSIGN.record))


# Keys the protocol leaves informative: §1.6 checks neither a selected entry's name nor the task's.
INFORMATIVE = {"name", "task_name"}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(CASES)), st.data(), json_values)
def test_verify_survives_any_field_value(name, data, value):
    case = CASES[name]
    path = data.draw(st.sampled_from(RELEASE_PATHS[name]))
    release = D.dumps(replace(case.release, path, value))
    report = case.verify(release=release)
    assert report.exit_code in (0, 1, 2)
    if report.exit_code == 0:  # only a value equal to the original may pass
        assert (
            D.dumps(replace(case.release, path, value)) == case.release_bytes
            or path[-1] in INFORMATIVE
        )
    path = data.draw(st.sampled_from(ANNOUNCEMENT_PATHS[name]))
    announcement = D.dumps(replace(case.announcement, path, value))
    assert case.verify(announcement=announcement).exit_code in (0, 1, 2)


@settings(max_examples=200, deadline=None)
@given(st.data(), json_values)
def test_verify_assign_survives_any_field_value(data, value):
    path = data.draw(st.sampled_from(RECORD_PATHS))
    record = D.dumps(replace(ASSIGN.record, path, value))
    assert ASSIGN.verify(record=record).exit_code in (0, 1, 2)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_file_bytes(data):
    case = CASES["sealed-ratio-unannounced"]
    for report in (
        case.verify(population=data),
        case.verify(excluded=data),
        case.verify(strata=data),
        ASSIGN.verify(eligibility=data),
        ASSIGN.verify(teams=data),
    ):
        assert report.exit_code in (1, 2)
