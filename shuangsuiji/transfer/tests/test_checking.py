"""Rows checked in a second process (checking.open_checked with ``apart``) are the rows checked
here: the same values, errors and duplicates in the same order, the same refusals of a file
that cannot be read, and a clear error when the process dies."""

import datetime

import pytest

from shuangsuiji.transfer import checking, schemas
from shuangsuiji.transfer.readers import FileRejected

from .helpers import TARGET_HEADINGS, target_row, write_csv, write_xlsx

CONTEXT = schemas.Context(
    regions={"652801": 7, "库尔勒市": 7},
    region_codes={7: "652801"},
    today=datetime.date(2026, 11, 26),
)
SCHEMA = schemas.get_schema("targets")


def read(path, apart: bool, settings):
    settings.SHUANGSUIJI_IMPORT_APART_BYTES = 0 if apart else 1 << 40
    with checking.open_checked(
        path, filename=path.name, schema=SCHEMA, context=CONTEXT, apart=True
    ) as checked:
        return checked.where, checked.sheet_name, checked.header, list(checked.rows)


def mixed_rows():
    return [
        TARGET_HEADINGS,
        *(target_row(n) for n in range(1, 12)),
        target_row(3, 名称="重复的代码"),  # duplicate of row 4
        target_row(12, **{"统一社会信用代码/注册号": "91652801MA0000120X"}),  # check char
        target_row(13, 成立日期="2020-13-45", 信用风险分类="E"),
        target_row(14, 名称="<script>alert(1)</script>"),
        target_row(15, **{"所属区域(行政区划代码)": "999999"}),
    ]


@pytest.mark.parametrize("writer", [write_csv, write_xlsx], ids=["csv", "xlsx"])
def test_the_second_process_checks_rows_exactly_as_this_one(tmp_path, settings, writer):
    path = writer(tmp_path / ("t.csv" if writer is write_csv else "t.xlsx"), mixed_rows())
    here = read(path, False, settings)
    apart = read(path, True, settings)
    assert apart == here
    rows = here[3]
    assert len(rows) == 16 and [n for n, _, _ in rows] == list(range(2, 18))
    assert rows[11][2] == [("统一社会信用代码/注册号", rows[11][1]["code"], "与第 4 行重复")]
    assert [bool(errors) for _, _, errors in rows[12:]] == [True, True, False, True]
    assert len(rows[13][2]) == 2  # bad date and bad class; the HTML name is just text
    assert rows[14][1]["name"] == "<script>alert(1)</script>"


def test_more_rows_than_one_message(tmp_path, settings, monkeypatch):
    monkeypatch.setattr(checking, "ROWS_PER_MESSAGE", 7)  # read by this process only
    path = write_csv(
        tmp_path / "t.csv", [TARGET_HEADINGS, *(target_row(n) for n in range(1, 6001))]
    )
    here, apart = read(path, False, settings), read(path, True, settings)
    assert len(apart[3]) == 6000 and apart == here


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\xef\xbb\xbfcode,name\r\n1,2\r\n", "缺少"),
        (
            "统一社会信用代码/注册号,名称\r\n".encode() + b"\xff\xfe\xfa,\xc0\r\n" * 3,
            None,
        ),
    ],
    ids=["wrong headings", "unreadable text"],
)
def test_a_refused_file_is_refused_the_same_way(tmp_path, settings, content, message):
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    outcomes = []
    for apart in (False, True):
        try:
            outcomes.append(("read", read(path, apart, settings)))
        except FileRejected as exc:
            outcomes.append(("rejected", exc.message))
    assert outcomes[0] == outcomes[1]
    if message:
        assert outcomes[0][0] == "rejected" and message in outcomes[0][1]


def test_a_process_that_dies_is_an_error_not_fewer_rows(tmp_path, settings, monkeypatch):
    monkeypatch.setattr(checking, "CHILD", "import sys; sys.stderr.write('boom'); sys.exit(3)")
    path = write_csv(tmp_path / "t.csv", [TARGET_HEADINGS, target_row(1)])
    with pytest.raises(RuntimeError, match="校验进程意外退出（3）：boom"):
        read(path, True, settings)


def test_no_interpreter_to_start_reads_here(tmp_path, settings, monkeypatch):
    monkeypatch.setattr(checking.sys, "executable", str(tmp_path / "no-python"))
    path = write_csv(tmp_path / "t.csv", [TARGET_HEADINGS, target_row(1)])
    assert read(path, True, settings)[3][0][1]["code"] == target_row(1)[0]
