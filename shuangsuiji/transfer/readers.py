"""Reading an uploaded spreadsheet (.xlsx or .csv) into a header and a stream of rows.

Everything that makes a file unreadable as a whole raises :class:`FileRejected` with a Chinese
sentence saying what is wrong and what to do; nothing has been written by then. What is wrong with
single rows is the schema's business (schemas.py), not the reader's.

- The format is decided by the file's content, not its name: a renamed .docx, .png or .txt is
  recognised and refused; an old .xls (or an encrypted workbook) is refused with the advice to
  save it as .xlsx.
- .xlsx: the sheet XML is first scanned as a stream (zipfile, chunk by chunk, never the whole
  sheet in memory) for formulas, merged cells and the row count, so a 1,048,576-row sheet is
  refused within a second; then python-calamine reads the cells (fast, typed: dates come as dates).
- .csv: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), or GB18030 — what
  Excel in China writes for "CSV (逗号分隔)"; the encoding is detected from the first 64 KB.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

from django.conf import settings

DEFAULT_MAX_ROWS = 1_000_000
# Excel's own limit for one cell; the csv module's default is 131072.
MAX_CELL_CHARS = 32767
CSV_FIELD_LIMIT = 131072
# How many rows at the top may hold a title above the headings.
HEADER_SEARCH_ROWS = 10
_CHUNK = 1 << 20


class FileRejected(Exception):
    """The file as a whole cannot be imported. ``message`` is for the user, in Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def max_rows_setting() -> int:
    return int(getattr(settings, "SHUANGSUIJI_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


def heading_key(text) -> str:
    """The comparable form of a column heading: NFKC (full-width → half-width, （）→ ()), no
    whitespace at all (spaces, newlines from wrapped header cells, full-width spaces), no
    zero-width characters, and a trailing "*" (the "required" mark some templates use) dropped."""
    if text is None:
        return ""
    text = unicodedata.normalize("NFKC", str(text))
    text = "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")
    return text.rstrip("*").lstrip("*")


@dataclass
class Table:
    """A readable table: the heading row and an iterator of ``(row number, cells)``.

    Row numbers are what the user sees in Excel (1-based, counting the heading row and any title
    rows above it); completely empty rows are skipped. Cells are ``str`` for CSV; for .xlsx
    whatever the cell holds (str, int, float, bool, datetime.date/datetime)."""

    format: str
    headers: list
    header_row: int
    rows: Iterator[tuple[int, list]]
    sheet_name: str = ""
    sheet_names: list[str] = field(default_factory=list)
    encoding: str = ""
    total_estimate: int = 0
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def close(self) -> None:
        for close in self._closers:
            with contextlib.suppress(Exception):  # closing is best effort
                close()
        self._closers.clear()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def where(self) -> str:
        """Where the data was read from, for messages: 「工作表“名录”」 or 「CSV 文件（GB18030 编码）」."""
        if self.format == "xlsx":
            return f"工作表“{self.sheet_name}”"
        return f"CSV 文件（{self.encoding.upper()} 编码）"


def _is_blank(cells) -> bool:
    for value in cells:
        if value is None:
            continue
        if isinstance(value, str):
            if value.strip():
                return False
        else:
            return False
    return True


# --- format detection ----------------------------------------------------------------------------

_SAVE_AS = "请在 Excel 中打开后“另存为” Excel 工作簿（.xlsx）或 CSV 文件，再重新上传"


def sniff(path: Path, filename: str = "") -> str:
    """``"xlsx"`` or ``"csv"``, or :class:`FileRejected` saying what the file really is."""
    suffix = PurePosixPath(filename or path.name).suffix.lower()
    size = path.stat().st_size
    if size == 0:
        raise FileRejected("文件是空的（0 字节），请选择填好数据的 .xlsx 或 .csv 文件")
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _sniff_zip(path)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        _reject_ole2(path, suffix)
    for magic, what in (
        (b"%PDF", "PDF 文档"),
        (b"\x89PNG", "PNG 图片"),
        (b"\xff\xd8\xff", "JPEG 图片"),
        (b"GIF8", "GIF 图片"),
        (b"{\\rtf", "RTF 文档"),
        (b"Rar!", "RAR 压缩包"),
        (b"7z\xbc\xaf", "7z 压缩包"),
        (b"\x1f\x8b", "gzip 压缩文件"),
    ):
        if head.startswith(magic):
            raise FileRejected(f"上传的文件是{what}，不是电子表格。请上传 .xlsx 或 .csv 文件")
    lowered = head.lower()
    if b"urn:schemas-microsoft-com:office:spreadsheet" in lowered or (
        lowered.lstrip().startswith((b"<html", b"<!doctype html", b"<table"))
        or b"<html" in lowered[:512]
    ):
        raise FileRejected(f"这是网页格式或 XML 格式的“伪 .xls”文件，不是 .xlsx 工作簿。{_SAVE_AS}")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "csv"
    if b"\x00" in head:
        raise FileRejected(
            "上传的文件不是电子表格，也不是文本文件（含二进制内容）。请上传 .xlsx 或 .csv 文件"
        )
    return "csv"


def _sniff_zip(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileRejected("文件已损坏，无法作为 .xlsx 工作簿打开。" + _SAVE_AS) from exc
    if "xl/workbook.xml" in names or any(
        n.endswith("workbook.xml") and n.startswith("xl/") for n in names
    ):
        return "xlsx"
    if "word/document.xml" in names:
        raise FileRejected(
            "上传的文件是 Word 文档（.docx），不是电子表格。请上传 .xlsx 或 .csv 文件"
        )
    if any(n.startswith("ppt/") for n in names):
        raise FileRejected(
            "上传的文件是 PowerPoint 演示文稿，不是电子表格。请上传 .xlsx 或 .csv 文件"
        )
    if "content.xml" in names and "mimetype" in names:
        raise FileRejected(f"这是 OpenDocument（WPS/LibreOffice .ods/.odt）文件。{_SAVE_AS}")
    raise FileRejected(
        "上传的文件是一个 ZIP 压缩包，不是 .xlsx 工作簿。请解压后上传其中的 .xlsx 或 .csv 文件"
    )


def _reject_ole2(path: Path, suffix: str) -> None:
    # The compound-file directory stores stream names in UTF-16LE; look for the telling ones.
    with open(path, "rb") as fh:
        data = fh.read(16 * 1024 * 1024)

    def has(name: str) -> bool:
        return name.encode("utf-16-le") in data

    if has("EncryptedPackage"):
        raise FileRejected(
            "工作簿设置了打开密码，无法读取。请在 Excel 中取消密码后另存为 .xlsx 再上传"
        )
    if has("WordDocument"):
        raise FileRejected(
            "上传的文件是旧版 Word 文档（.doc），不是电子表格。请上传 .xlsx 或 .csv 文件"
        )
    if has("PowerPoint Document"):
        raise FileRejected(
            "上传的文件是 PowerPoint 演示文稿，不是电子表格。请上传 .xlsx 或 .csv 文件"
        )
    raise FileRejected(
        f"这是旧版 Excel 97-2003 工作簿（.xls），平台只读取 .xlsx 和 .csv。{_SAVE_AS}"
    )


# --- entry point ---------------------------------------------------------------------------------


def open_table(
    path: str | Path,
    *,
    filename: str = "",
    sheet_hint: str = "",
    is_header: Callable[[list], bool] | None = None,
    max_rows: int | None = None,
) -> Table:
    """Open ``path`` and find its heading row.

    ``sheet_hint`` is the template's sheet name (a sheet whose name contains it is read, else the
    first visible sheet). ``is_header(cells)`` says whether a row looks like the template's
    headings; the first such row among the first rows is the heading row (a title above it is
    allowed), else the first non-empty row. ``max_rows`` counts data rows (default: the setting
    ``SHUANGSUIJI_IMPORT_MAX_ROWS``)."""
    path = Path(path)
    max_rows = max_rows_setting() if max_rows is None else max_rows
    fmt = sniff(path, filename)
    if fmt == "xlsx":
        return _open_xlsx(path, sheet_hint=sheet_hint, is_header=is_header, max_rows=max_rows)
    return _open_csv(path, is_header=is_header, max_rows=max_rows)


def _find_header(first_rows: list[tuple[int, list]], is_header) -> int:
    """Index into ``first_rows`` of the heading row."""
    if is_header is not None:
        for i, (_, cells) in enumerate(first_rows):
            if is_header(cells):
                return i
    return 0


def _limit_message(count: int, max_rows: int, what: str = "") -> str:
    return (
        f"文件行数超过上限：{what}有 {count:,} 行以上数据，一次最多导入 {max_rows:,} 行。"
        "请把数据拆分成几个文件分别导入"
    )


def _stream(first_rows, header_index, rest, max_rows, on_limit) -> Iterator[tuple[int, list]]:
    count = 0
    for item in first_rows[header_index + 1 :]:
        count += 1
        yield item
    for item in rest:
        count += 1
        if count > max_rows:
            raise FileRejected(on_limit(count))
        yield item


def _take(rows: Iterator, n: int) -> list:
    out = []
    for item in rows:
        out.append(item)
        if len(out) >= n:
            break
    return out


# --- CSV -----------------------------------------------------------------------------------------


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
        return "gb18030"
    except UnicodeDecodeError as exc:
        raise FileRejected(
            "无法识别文件的文字编码（既不是 UTF-8 也不是 GBK/GB18030）。"
            "请在 Excel 中另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后重新上传"
        ) from exc


def _count_csv_records(path: Path, encoding: str, delimiter: str, stop_after: int) -> int:
    """Exact record count (quoted newlines allowed), stopping once ``stop_after`` is passed."""
    with open(path, encoding=encoding, newline="", errors="replace") as fh:
        n = 0
        for _ in csv.reader(fh, delimiter=delimiter):
            n += 1
            if n > stop_after:
                break
        return n


def _open_csv(path: Path, *, is_header, max_rows: int) -> Table:
    with open(path, "rb") as fh:
        sample = fh.read(65536)
    encoding = detect_encoding(sample)
    text_sample = sample.decode(encoding, errors="ignore")
    first_line = text_sample.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    if delimiter == "," and "," not in first_line and len(text_sample.splitlines()) > 1:
        # One column only: fine for the reader; the schema will name the missing columns.
        pass

    # Cheap early check: newlines are an upper bound of the record count; only when that bound
    # exceeds the limit is the exact (slower) count taken.
    size = path.stat().st_size
    newlines = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK * 8):
            newlines += chunk.count(b"\n")
    total_estimate = max(newlines - 1, 0) if size else 0
    if newlines > max_rows + 1:
        records = _count_csv_records(path, encoding, delimiter, max_rows + HEADER_SEARCH_ROWS + 1)
        if records > max_rows + 1:
            raise FileRejected(_limit_message(max_rows, max_rows, "CSV 文件"))

    csv.field_size_limit(CSV_FIELD_LIMIT)
    fh = open(path, encoding=encoding, newline="")  # noqa: SIM115 — closed by Table.close
    reader = csv.reader(fh, delimiter=delimiter)

    def records() -> Iterator[tuple[int, list]]:
        line = 0
        try:
            for cells in reader:
                line += 1
                if cells and not _is_blank(cells):
                    yield line, cells
        except UnicodeDecodeError as exc:
            raise FileRejected(
                f"第 {line + 1} 行附近的文字无法按 {encoding.upper()} 编码读取：文件混用了多种编码。"
                "请在 Excel 中另存为“CSV UTF-8（逗号分隔）”或 .xlsx 后重新上传"
            ) from exc
        except csv.Error as exc:
            raise FileRejected(
                f"第 {line + 1} 行无法读取：有超长的单元格（超过 {CSV_FIELD_LIMIT:,} 个字符），或引号不配对"
            ) from exc

    stream = records()
    try:
        first = _take(stream, HEADER_SEARCH_ROWS)
    except Exception:
        fh.close()
        raise
    if not first:
        fh.close()
        raise FileRejected("文件中没有任何内容（没有列标题，也没有数据行）")
    h = _find_header(first, is_header)
    return Table(
        format="csv",
        headers=first[h][1],
        header_row=first[h][0],
        rows=_stream(first, h, stream, max_rows, lambda n: _limit_message(n, max_rows, "CSV 文件")),
        encoding="gb18030" if encoding == "gb18030" else encoding.replace("-sig", ""),
        total_estimate=total_estimate,
        _closers=[fh.close],
    )


# --- XLSX ----------------------------------------------------------------------------------------

_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"

_RE_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="[A-Z]*\d*:?[A-Z]*(\d+)"')
_RE_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_RE_ROW = re.compile(rb"<(?:\w+:)?row[\s>/]")
_RE_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_RE_CELL_REF = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="([A-Z]+\d+)"')


@dataclass
class SheetInfo:
    name: str
    part: str  # path of the sheet XML inside the zip
    visible: bool = True


@dataclass
class SheetScan:
    last_row: int = 0  # from <dimension>, 0 if absent
    rows: int = 0  # <row> elements seen (stopped early past the limit)
    formula_at: str | None = None  # cell reference of the first formula ("" if unknown)
    merges: list[tuple[str, int, int]] = field(default_factory=list)  # (ref, first row, last row)
    over_limit: bool = False


def workbook_sheets(zf: zipfile.ZipFile) -> list[SheetInfo]:
    """The worksheets in workbook order, with their XML part names (no full load)."""
    try:
        wb = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError) as exc:
        raise FileRejected("工作簿结构已损坏，无法读取。" + _SAVE_AS) from exc
    targets = {}
    for rel in rels.iter(f"{_NS_PKG_REL}Relationship"):
        target = rel.get("Target", "")
        if target.startswith("/"):
            target = target[1:]
        elif not target.startswith("xl/"):
            target = "xl/" + target
        targets[rel.get("Id")] = target
    sheets = []
    for sheet in wb.iter(f"{_NS_MAIN}sheet"):
        part = targets.get(sheet.get(f"{_NS_REL}id"), "")
        sheets.append(
            SheetInfo(
                name=sheet.get("name", ""),
                part=part,
                visible=sheet.get("state") in (None, "visible"),
            )
        )
    return [s for s in sheets if s.part.startswith("xl/worksheets/")] or sheets


def scan_sheet(zf: zipfile.ZipFile, part: str, *, max_rows: int) -> SheetScan:
    """Stream the sheet XML once: dimension, formulas, merged cells, row count (stops early)."""
    scan = SheetScan()
    limit = max_rows + HEADER_SEARCH_ROWS + 1
    with zf.open(part) as fh:
        tail = b""
        first = True
        while True:
            chunk = fh.read(_CHUNK)
            if not chunk:
                region, tail = tail, b""
            else:
                buf = tail + chunk
                # Process up to the last '>' so that no tag straddles two regions.
                cut = buf.rfind(b">") + 1
                if cut == 0:
                    tail = buf
                    continue
                region, tail = buf[:cut], buf[cut:]
            if first:
                first = False
                if m := _RE_DIMENSION.search(region[:4096]):
                    scan.last_row = int(m.group(1))
                    if scan.last_row > limit:
                        scan.over_limit = True
                        scan.rows = scan.last_row
                        return scan
            if scan.formula_at is None and (m := _RE_FORMULA.search(region)):
                refs = _RE_CELL_REF.findall(region, max(0, m.start() - 2000), m.start())
                scan.formula_at = refs[-1].decode() if refs else ""
            scan.rows += len(_RE_ROW.findall(region))
            if scan.rows > limit:
                scan.over_limit = True
                return scan
            for m in _RE_MERGE.finditer(region):
                if len(scan.merges) >= 1000:
                    break
                c1, r1, c2, r2 = m.groups()
                ref = f"{c1.decode()}{r1.decode()}" + (f":{c2.decode()}{r2.decode()}" if c2 else "")
                scan.merges.append((ref, int(r1), int(r2 or r1)))
            if not chunk:
                break
    return scan


def _pick_sheet(sheets: list[SheetInfo], hint: str) -> SheetInfo:
    if hint:
        key = heading_key(hint)
        for s in sheets:
            if heading_key(s.name) == key:
                return s
        for s in sheets:
            if key in heading_key(s.name):
                return s
    visible = [s for s in sheets if s.visible]
    return (visible or sheets)[0]


def _calamine_rows(sheet) -> Iterator[tuple[int, list]]:
    start_row = (sheet.start or (0, 0))[0]
    for i, cells in enumerate(sheet.iter_rows()):
        if not _is_blank(cells):
            yield start_row + i + 1, cells


def _open_xlsx(path: Path, *, sheet_hint: str, is_header, max_rows: int) -> Table:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileRejected("文件已损坏，无法作为 .xlsx 工作簿打开。" + _SAVE_AS) from exc
    with zf:
        sheets = workbook_sheets(zf)
        if not sheets:
            raise FileRejected("工作簿中没有工作表")
        chosen = _pick_sheet(sheets, sheet_hint)
        try:
            scan = scan_sheet(zf, chosen.part, max_rows=max_rows)
        except (KeyError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise FileRejected(f"工作表“{chosen.name}”已损坏，无法读取。" + _SAVE_AS) from exc
    where = f"工作表“{chosen.name}”"
    if scan.over_limit:
        raise FileRejected(
            _limit_message(max_rows, max_rows, where) + f"（该工作表共 {scan.rows:,} 行）"
        )
    if scan.formula_at is not None:
        at = f"（第一个在单元格 {scan.formula_at}）" if scan.formula_at else ""
        raise FileRejected(
            f"{where}含有公式{at}。导入只接受数值，不计算公式：请全选后“复制”，再“选择性粘贴 → 数值”，保存后重新上传"
        )

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_name(chosen.name)
    except CalamineError as exc:
        raise FileRejected(f"无法读取{where}：{exc}。" + _SAVE_AS) from exc
    except Exception as exc:  # calamine raises plain errors for some broken parts
        raise FileRejected(f"无法读取{where}：{exc}。" + _SAVE_AS) from exc
    stream = _calamine_rows(sheet)
    first = _take(stream, HEADER_SEARCH_ROWS)
    if not first:
        raise FileRejected(f"{where}是空的：没有列标题，也没有数据行")
    h = _find_header(first, is_header)
    header_row = first[h][0]
    if is_header is not None and not is_header(first[h][1]):
        _hint_other_sheet(path, sheets, chosen, is_header, workbook)
    bad_merges = [ref for ref, _r1, r2 in scan.merges if r2 >= header_row]
    if bad_merges:
        more = f"等 {len(bad_merges)} 处" if len(bad_merges) > 1 else ""
        raise FileRejected(
            f"{where}含有合并单元格（{bad_merges[0]}{more}）。导入要求每个单元格单独填写：请取消合并并把值填入每一行后重新上传"
        )
    return Table(
        format="xlsx",
        headers=list(first[h][1]),
        header_row=header_row,
        rows=_stream(first, h, stream, max_rows, lambda n: _limit_message(n, max_rows, where)),
        sheet_name=chosen.name,
        sheet_names=[s.name for s in sheets],
        total_estimate=max((scan.last_row or scan.rows) - header_row, 0),
        _closers=[workbook.close],
    )


def _hint_other_sheet(path, sheets, chosen, is_header, workbook) -> None:
    """The chosen sheet has no template headings: if another (small enough) sheet has them, say so."""
    for other in sheets:
        if other is chosen:
            continue
        try:
            sheet = workbook.get_sheet_by_name(other.name)
            first = _take(_calamine_rows(sheet), HEADER_SEARCH_ROWS)
        except Exception:
            continue
        if any(is_header(cells) for _, cells in first):
            raise FileRejected(
                f"读取的是工作表“{chosen.name}”，它没有模板的列标题；工作表“{other.name}”的列标题符合模板。"
                f"请把数据放在第一个工作表（或把该工作表改名为模板中的名称）后重新上传"
            )
