"""Builders of import files for the transfer tests: CSV in any encoding, .xlsx with xlsxwriter
(formulas, merged cells, several sheets) and a huge sheet written as raw XML."""

import csv
import io
import zipfile
from pathlib import Path

from shuangsuiji.directory.identifiers import make_id_number, make_uscc

TARGET_HEADINGS = [
    "统一社会信用代码/注册号",
    "名称",
    "登记状态",
    "成立日期",
    "所属区域(行政区划代码)",
    "信用风险分类",
    "标签",
]


def uscc(n: int, kind: str = "91") -> str:
    return make_uscc(kind[0], kind[1], "652801", f"MA{n:06d}")


def id_number(n: int) -> str:
    import datetime

    return make_id_number(
        "652801", datetime.date(1980, 1, 1) + datetime.timedelta(days=n), f"{n % 1000:03d}"
    )


def target_row(n: int, **over) -> list:
    row = {
        "统一社会信用代码/注册号": uscc(n),
        "名称": f"库尔勒测试商贸有限公司{n}",
        "登记状态": "存续",
        "成立日期": "2020-01-02",
        "所属区域(行政区划代码)": "652801",
        "信用风险分类": "B",
        "标签": "食品经营",
    }
    row.update(over)
    return [row[h] for h in TARGET_HEADINGS]


def write_csv(
    path: Path, rows: list[list], *, encoding: str = "utf-8", delimiter: str = ","
) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(
    path: Path, rows: list[list], *, sheet: str = "检查对象名录库", before=None, after=None
) -> Path:
    """``before(workbook)`` may add sheets in front; ``after(workbook, worksheet)`` may add
    formulas, merges …"""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    if before:
        before(wb)
    ws = wb.add_worksheet(sheet)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            ws.write(r, c, value)
    if after:
        after(wb, ws)
    wb.close()
    return path


_CT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WB = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="检查对象名录库" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WB_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)


def write_huge_xlsx(path: Path, rows: int = 1_048_576, *, dimension: bool = True) -> Path:
    """A sheet with ``rows`` rows (every row one cell), written as XML directly: seconds, not
    the minutes a spreadsheet library would take."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", _CT)
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("xl/workbook.xml", _WB)
        zf.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            head = '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            if dimension:
                head += f'<dimension ref="A1:B{rows}"/>'
            head += "<sheetData>"
            head += (
                '<row r="1"><c r="A1" t="inlineStr"><is><t>统一社会信用代码/注册号</t></is></c>'
                '<c r="B1" t="inlineStr"><is><t>名称</t></is></c></row>'
            )
            fh.write(head.encode())
            step = 50_000
            for start in range(2, rows + 1, step):
                end = min(start + step, rows + 1)
                fh.write(
                    "".join(
                        f'<row r="{r}"><c r="B{r}" t="inlineStr"><is><t>x</t></is></c></row>'
                        for r in range(start, end)
                    ).encode()
                )
            fh.write(b"</sheetData></worksheet>")
    return path
