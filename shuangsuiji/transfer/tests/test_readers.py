"""Reading files: formats, encodings, headings, and every way a file as a whole is refused."""

import datetime
import time
import zipfile

import pytest

from shuangsuiji.transfer import readers, schemas
from shuangsuiji.transfer.readers import FileRejected

from .helpers import TARGET_HEADINGS, target_row, write_csv, write_huge_xlsx, write_xlsx

SCHEMA = schemas.get_schema("targets")


def open_targets(path, **kwargs):
    return readers.open_table(
        path, sheet_hint=SCHEMA.sheet_name, is_header=SCHEMA.is_header, **kwargs
    )


def read_all(path, **kwargs):
    with open_targets(path, **kwargs) as table:
        header = SCHEMA.map_headers(table.headers, where=table.where)
        return table, header, list(table.rows)


def rejected(path, **kwargs) -> str:
    with pytest.raises(FileRejected) as info:
        read_all(path, **kwargs)
    return info.value.message


# --- CSV encodings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8"),
        ("gb18030", "gb18030"),
        ("gbk", "gb18030"),
        ("utf-16", "utf-16"),
    ],
)
def test_csv_encodings_are_detected(tmp_path, encoding, reported):
    path = write_csv(
        tmp_path / "t.csv",
        [TARGET_HEADINGS, target_row(1, 名称="库尔勒市天山区某某超市")],
        encoding=encoding,
    )
    table, header, rows = read_all(path)
    assert table.encoding == reported
    assert rows[0][0] == 2
    assert rows[0][1][header.index["name"]] == "库尔勒市天山区某某超市"
    assert reported.upper() in table.where


def test_tab_separated_unicode_text(tmp_path):
    path = write_csv(
        tmp_path / "t.txt", [TARGET_HEADINGS, target_row(1)], encoding="utf-16", delimiter="\t"
    )
    _, header, rows = read_all(path)
    assert rows[0][1][header.index["code"]] == target_row(1)[0]


def test_mixed_encodings_are_refused(tmp_path):
    path = tmp_path / "mixed.csv"
    good = (
        "\n".join([",".join(TARGET_HEADINGS)] + [",".join(target_row(i)) for i in range(1, 3000)])
        + "\n"
    ).encode()
    path.write_bytes(good + ",".join(target_row(9999, 名称="某某公司")).encode("gbk") + b"\n")
    message = rejected(path)
    assert "编码" in message and "行" in message


def test_headings_with_spaces_full_width_and_newlines(tmp_path):
    headings = [
        " 统一社会信用代码／注册号 ",
        "名\n称",
        "所属区域（行政区划代码）",
        "登记　状态",
        "*成立日期",
    ]
    path = write_csv(
        tmp_path / "t.csv", [headings, [target_row(1)[0], "甲", "652801", "存续", "2020-01-02"]]
    )
    _, header, _ = read_all(path)
    assert set(header.index) == {"code", "name", "region", "reg_status", "established"}


def test_title_row_and_blank_rows(tmp_path):
    rows = [
        ["（州市场监督管理局）检查对象名录库"],
        [],
        TARGET_HEADINGS,
        target_row(1),
        ["", "", ""],
        target_row(2),
    ]
    table, _, data = read_all(write_csv(tmp_path / "t.csv", rows))
    assert table.header_row == 3
    assert [n for n, _ in data] == [4, 6]


def test_csv_row_limit(tmp_path):
    rows = [TARGET_HEADINGS] + [target_row(i) for i in range(1, 8)]
    message = rejected(write_csv(tmp_path / "t.csv", rows), max_rows=5)
    assert "文件行数超过上限" in message and "5" in message
    assert len(read_all(write_csv(tmp_path / "ok.csv", rows), max_rows=7)[2]) == 7


def test_huge_csv_cell(tmp_path):
    rows = [TARGET_HEADINGS, target_row(1), target_row(2, 名称="很" * 200_000)]
    message = rejected(write_csv(tmp_path / "t.csv", rows))
    assert "第 3 行" in message and "超长" in message


# --- not a spreadsheet -------------------------------------------------------------------------------


def _zip(path, names):
    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            zf.writestr(name, "<x/>")
    return path


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.xlsx", b"", "空的"),
        ("photo.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "PNG 图片"),
        ("scan.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (
            "old.xlsx",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600 + "Workbook".encode("utf-16-le"),
            ".xls",
        ),
        (
            "old.doc.xlsx",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
            + b"\x00" * 600
            + "WordDocument".encode("utf-16-le"),
            "Word",
        ),
        ("page.xls", b"<html><body><table><tr><td>1</td></tr></table></body></html>", "网页格式"),
        ("bin.csv", b"\x01\x02\x00\x03" * 100, "二进制"),
    ],
)
def test_not_a_spreadsheet(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    assert expected in rejected(path)


def test_renamed_docx_and_plain_zip(tmp_path):
    assert "Word 文档" in rejected(
        _zip(tmp_path / "a.xlsx", ["[Content_Types].xml", "word/document.xml"])
    )
    assert "ZIP 压缩包" in rejected(_zip(tmp_path / "b.xlsx", ["readme.txt", "data/1.csv"]))
    corrupt = tmp_path / "c.xlsx"
    corrupt.write_bytes(b"PK\x03\x04" + b"\x00" * 50)
    assert "损坏" in rejected(corrupt)


def test_renamed_text_file_fails_on_headings(tmp_path):
    path = tmp_path / "notes.xlsx"
    path.write_text("会议纪要\n今天讨论了双随机抽查的安排。\n", encoding="utf-8")
    message = rejected(path)
    assert "缺少必填列" in message and "统一社会信用代码/注册号" in message


# --- headings ------------------------------------------------------------------------------------------


def test_missing_unknown_and_duplicate_headings(tmp_path):
    rows = [
        ["统一社会信用代码", "名称", "成立日", "标签", "子库"],
        [target_row(1)[0], "甲", "2020-01-02", "a", "b"],
    ]
    message = rejected(write_csv(tmp_path / "t.csv", rows))
    assert "无法识别的列：“成立日”（是否应为“成立日期”？）" in message
    assert "重复的列：“子库”（与“标签”重复）" in message
    rows = [["名称", "住所"], ["甲", "乙"]]
    message = rejected(write_csv(tmp_path / "u.csv", rows))
    assert "缺少必填列：“统一社会信用代码/注册号”" in message


def test_seed_template_columns_are_accepted(tmp_path):
    """Seed 000's own template has 序号 and 备注 columns and 市场主体名称."""
    headings = [
        "序号",
        "统一社会信用代码/注册号",
        "市场主体名称",
        "市场主体类型",
        "登记机关",
        "法定代表人",
        "住所",
        "登记状态",
        "成立日期",
        "经营范围",
        "备注",
    ]
    _, header, _ = read_all(
        write_csv(
            tmp_path / "t.csv",
            [headings, ["1", target_row(1)[0], "甲", "", "", "", "", "", "", "", ""]],
        )
    )
    assert header.ignored == ["序号", "备注"]
    assert "name" in header.index


# --- xlsx --------------------------------------------------------------------------------------------


def test_xlsx_values_and_dates(tmp_path):
    def after(wb, ws):
        ws.write_datetime(
            1, 3, datetime.datetime(2019, 5, 6), wb.add_format({"num_format": "yyyy-mm-dd"})
        )
        ws.write_number(2, 3, 20200102)
        ws.write_string(3, 3, "2020/1/2")

    rows = [
        TARGET_HEADINGS,
        target_row(1, 成立日期=None),
        target_row(2, 成立日期=None),
        target_row(3, 成立日期=None),
    ]
    table, header, data = read_all(write_xlsx(tmp_path / "t.xlsx", rows, after=after))
    assert table.format == "xlsx" and table.sheet_name == "检查对象名录库"
    clean = SCHEMA.cleaner(header, schemas.Context(regions={"652801": 1}))
    days = [clean(cells)[0]["established"] for _, cells in data]
    assert days == [datetime.date(2019, 5, 6), datetime.date(2020, 1, 2), datetime.date(2020, 1, 2)]


def test_xlsx_formula_is_refused(tmp_path):
    def after(wb, ws):
        ws.write_formula(2, 1, '=CONCATENATE("甲","乙")', None, "甲乙")

    path = write_xlsx(
        tmp_path / "t.xlsx", [TARGET_HEADINGS, target_row(1), target_row(2)], after=after
    )
    message = rejected(path)
    assert "含有公式" in message and "B3" in message and "选择性粘贴" in message


def test_xlsx_merged_cells_are_refused_but_a_merged_title_is_fine(tmp_path):
    def merged_data(wb, ws):
        ws.merge_range(1, 2, 2, 2, "存续")

    message = rejected(
        write_xlsx(
            tmp_path / "a.xlsx", [TARGET_HEADINGS, target_row(1), target_row(2)], after=merged_data
        )
    )
    assert "合并单元格" in message and "C2:C3" in message

    def merged_title(wb, ws):
        ws.merge_range(0, 0, 0, 6, "（州市场监督管理局）检查对象名录库")

    rows = [[None], TARGET_HEADINGS, target_row(1)]
    table, _, data = read_all(write_xlsx(tmp_path / "b.xlsx", rows, after=merged_title))
    assert table.header_row == 2 and len(data) == 1


def test_xlsx_wrong_sheet_names_the_right_one(tmp_path):
    def before(wb):
        wb.add_worksheet("说明").write(0, 0, "请在第二个工作表填写")

    path = write_xlsx(
        tmp_path / "t.xlsx", [TARGET_HEADINGS, target_row(1)], sheet="名录数据", before=before
    )
    message = rejected(path)
    assert "读取的是工作表“说明”" in message and "工作表“名录数据”的列标题符合模板" in message


def test_xlsx_sheet_named_like_the_template_is_read(tmp_path):
    def before(wb):
        wb.add_worksheet("填写说明").write(0, 0, "说明")

    table, _, data = read_all(
        write_xlsx(tmp_path / "t.xlsx", [TARGET_HEADINGS, target_row(1)], before=before)
    )
    assert table.sheet_name == "检查对象名录库" and len(data) == 1


def test_empty_sheet_and_headings_only(tmp_path):
    assert "空的" in rejected(write_xlsx(tmp_path / "a.xlsx", []))
    _, _, data = read_all(write_xlsx(tmp_path / "b.xlsx", [TARGET_HEADINGS]))
    assert data == []


@pytest.fixture(scope="module")
def huge_sheets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("huge")
    return write_huge_xlsx(folder / "dim.xlsx"), write_huge_xlsx(
        folder / "nodim.xlsx", dimension=False
    )


@pytest.mark.parametrize("which", [0, 1], ids=["with-dimension", "without-dimension"])
def test_full_sheet_of_1048576_rows_is_refused_early(huge_sheets, which):
    start = time.monotonic()
    message = rejected(huge_sheets[which])
    assert "文件行数超过上限" in message and "1,000,000" in message
    assert time.monotonic() - start < 20  # a streamed scan, not a full read
