"""The columns of each import kind (the seeds' template headings) and the row cleaners.

A :class:`Schema` knows its columns (heading, whether the column must be present, accepted
variant headings, help text for the template) and turns one row of cells into model values or
per-column Chinese errors. The same headings are written by exports and by the blank templates,
so an exported file imports back unchanged.

A column that is missing from the file leaves that field of existing records untouched; a
present but empty cell clears it (or sets the default). Cleaning is pure Python with no database
access (the services pass the lookups it needs), because it runs for every row of files with a
million rows.
"""

from __future__ import annotations

import datetime
import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from shuangsuiji.catalog.services import clean_item_fields
from shuangsuiji.directory import identifiers
from shuangsuiji.directory.industry import normalize_industry
from shuangsuiji.directory.models import Target, pack
from shuangsuiji.directory.services import TAG_MAX_LENGTH, guess_object_kind

from .readers import FileRejected, heading_key

IN, OUT = "入库", "出库"


class CellError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    required: bool = False  # the column must be present in the file
    aliases: tuple[str, ...] = ()
    help: str = ""
    allowed: str = ""
    example: str = ""
    width: int = 14
    text: bool = False  # format the template column as text (codes: Excel would mangle them)
    choices: tuple[str, ...] = ()  # drop-down values in the template
    ignored: bool = False  # accepted in files (序号, 备注) but not imported


@dataclass
class HeaderMap:
    """Which cell index holds which column."""

    index: dict[str, int]
    headings: dict[str, str]  # key → heading as written in the file
    ignored: list[str] = field(default_factory=list)


@dataclass
class Context:
    """What a cleaner needs to know besides the cells (filled by the services)."""

    regions: dict[str, int]  # 行政区划代码 or unique name → Jurisdiction id
    region_codes: dict[int, str] = field(default_factory=dict)
    today: datetime.date = field(default_factory=datetime.date.today)


RowErrors = list[tuple[str, object, str]]  # (heading, raw value, message)


# --- value converters -----------------------------------------------------------------------------

_CONTROL = {c: None for c in range(32) if c not in (9, 10)} | {0x7F: None}
_CONTROL_ALL = dict.fromkeys(range(32)) | {0x7F: None}
_FORMAT_CHARS = dict.fromkeys([0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF])


def _number_text(value) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        return (
            value.date().isoformat()
            if value.time() == datetime.time()
            else value.isoformat(sep=" ")
        )
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def as_text(value, *, multiline: bool = False) -> str:
    """Cell → stripped text. Control characters are removed (they break PostgreSQL and Excel);
    single-line fields also lose their line breaks. HTML is kept as typed (text, escaped on
    display)."""
    if value is None:
        return ""
    if value.__class__ is not str:
        value = _number_text(value)
    if value.isprintable():
        return value.strip()
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROL)
    else:
        value = value.translate(_CONTROL_ALL | {9: " ", 10: " ", 13: " "})
    return value.translate(_FORMAT_CHARS).strip()


def memo(convert, limit: int = 20000):
    """Cache a converter's results by cell text. Most columns (status, region, industry, class,
    flags, tags, dates) repeat a few values over a million rows; errors are not cached."""
    cache: dict = {}

    def cached(value):
        if value.__class__ is not str:
            return convert(value)
        try:
            return cache[value]
        except KeyError:
            result = convert(value)
            if len(cache) < limit:
                cache[value] = result
            return result

    return cached


def text(max_length: int, *, required: bool = False, multiline: bool = False, label: str = ""):
    def convert(value):
        if value.__class__ is str and value.isprintable():
            s = value.strip()
        else:
            s = as_text(value, multiline=multiline)
        if not s and required:
            raise CellError(f"{label}不能为空")
        if len(s) > max_length:
            raise CellError(f"内容过长：最多 {max_length} 个字，实际 {len(s)} 个字")
        return s

    return convert


def choice_key(value) -> str:
    s = unicodedata.normalize("NFKC", as_text(value)).upper()
    return "".join(ch for ch in s if not ch.isspace())


def choice(mapping: dict[str, str], *, default=None, allowed: str = ""):
    """A value from ``mapping`` (keys compared via :func:`choice_key`)."""
    table = {choice_key(k): v for k, v in mapping.items()}

    def convert(value):
        key = choice_key(value)
        if not key:
            if default is None:
                raise CellError(f"不能为空，可填：{allowed}")
            return default
        try:
            return table[key]
        except KeyError:
            raise CellError(f"“{as_text(value)[:30]}”不是有效的值，可填：{allowed}") from None

    return convert


YES_NO = {
    "是": True, "否": False, "Y": True, "N": False, "YES": True, "NO": False, "1": True, "0": False,
    "TRUE": True, "FALSE": False, "√": True, "×": False, "X": False, "对": True, "有": True,
    "无": False, "列入": True, "已列入": True, "未列入": False, "可": True, "不可": False,
    "可以": True, "不可以": False, "可参与": True, "不可参与": False,
}  # fmt: skip


def yes_no(default: bool):
    return choice(YES_NO, default=default, allowed="是、否")


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_EXCEL_EPOCH = datetime.date(1899, 12, 30)
_MIN_DATE = datetime.date(1900, 1, 1)


def parse_date(value, *, today: datetime.date) -> datetime.date | None:
    if value is None or value == "":
        return None
    if value.__class__ is str and len(value) == 10 and value[4] == "-":
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            pass
        else:
            if day < _MIN_DATE:
                raise CellError(f"日期 {day.isoformat()} 早于 1900 年")
            return day
    if isinstance(value, datetime.datetime):
        day = value.date()
    elif isinstance(value, datetime.date):
        day = value
    elif isinstance(value, bool):
        raise CellError("不是日期")
    elif isinstance(value, int | float):
        number = int(value)
        if number != value:
            raise CellError(f"“{value}”不是日期，请填写如 2020-01-02")
        if 19000101 <= number <= 29991231:
            return parse_date(str(number), today=today)
        if 1 <= number <= 2958465:  # an Excel date serial in a cell not formatted as date
            day = _EXCEL_EPOCH + datetime.timedelta(days=number)
        else:
            raise CellError(f"“{value}”不是日期，请填写如 2020-01-02")
    else:
        s = unicodedata.normalize("NFKC", as_text(value)).replace(" ", "")
        if not s:
            return None
        for pattern in _DATE_PATTERNS:
            if m := pattern.match(s):
                try:
                    day = datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                except ValueError:
                    raise CellError(f"“{s[:20]}”不是有效日期") from None
                break
        else:
            raise CellError(f"“{s[:20]}”不是日期，请填写如 2020-01-02、2020/1/2 或 20200102")
    if day < _MIN_DATE:
        raise CellError(f"日期 {day.isoformat()} 早于 1900 年")
    return day


def date(*, not_future: bool = False):
    def convert(value, today):
        day = parse_date(value, today=today)
        if not_future and day and day > today:
            raise CellError(f"日期 {day.isoformat()} 晚于今天")
        return day

    convert.needs_today = True
    return convert


def non_negative_int(value):
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise CellError("应为整数")
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError(f"“{value}”不是整数")
        value = int(value)
    if isinstance(value, int):
        number = value
    else:
        s = unicodedata.normalize("NFKC", as_text(value)).replace(",", "")
        if not s:
            return 0
        if s.endswith(".0"):
            s = s[:-2]
        if not s.lstrip("-").isdigit():
            raise CellError(f"“{s[:20]}”不是整数")
        number = int(s)
    if number < 0:
        raise CellError("不能为负数")
    if number > 2_147_483_647:
        raise CellError("数值过大")
    return number


# The directory's own rule (directory.services.split_values): commas, 、, semicolons, | and spaces.
_SPLIT = re.compile(r"[,，、;；|\s]+")


def multi(label: str, *, max_length: int = 500, item_length: int = TAG_MAX_LENGTH):
    """Several values in one cell, separated by 、，,;；| or line breaks → ``|a|b|``."""

    def convert(value):
        s = as_text(value, multiline=True)
        if not s:
            return ""
        values = [v.strip() for v in _SPLIT.split(s)]
        for v in values:
            if len(v) > item_length:
                raise CellError(f"{label}“{v[:20]}…”过长：每项最多 {item_length} 个字")
        packed = pack(values)
        if len(packed) > max_length:
            raise CellError(f"{label}过多：合计不能超过 {max_length} 个字符")
        return packed

    return convert


def _code_cell_text(value, what: str) -> str:
    """Codes typed into number-formatted Excel cells come back as numbers; an 18-digit number
    has lost its last digits (Excel keeps 15), so say so instead of reporting a checksum error."""
    if isinstance(value, float):
        if not value.is_integer() or abs(value) >= 1e15:
            raise CellError(
                f"{what}被 Excel 存成了数字（{value:.6g}），后几位已经丢失：请把该列设置为“文本”格式后重新填写"
            )
        return str(int(value))
    if isinstance(value, int) and not isinstance(value, bool):
        if value >= 10**15:
            raise CellError(f"{what}被 Excel 存成了数字，请把该列设置为“文本”格式后重新填写")
        return str(value)
    return as_text(value)


_USCC_FAST = re.compile(r"[0-9A-HJ-NP-RTUW-Y]{18}")
_USCC_VALUE = {ch: i for i, ch in enumerate(identifiers.USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def target_code(value):
    # Fast path for the common case, a well-formed 统一社会信用代码 with the right check
    # character (same rule as identifiers.validate_uscc); anything else takes the full route
    # for its precise message.
    if value.__class__ is str and len(value) == 18 and _USCC_FAST.fullmatch(value):
        total = sum(map(int.__mul__, map(_USCC_VALUE.__getitem__, value[:17]), _USCC_WEIGHTS))
        if identifiers.USCC_ALPHABET[(31 - total % 31) % 31] == value[17]:
            return "uscc", value
    s = _code_cell_text(value, "代码")
    try:
        return identifiers.classify_target_code(s)
    except identifiers.InvalidCode as exc:
        raise CellError(exc.message) from None


def id_number(value, today):
    s = _code_cell_text(value, "身份证号")
    try:
        return identifiers.validate_id_number(s, today=today)
    except identifiers.InvalidCode as exc:
        raise CellError(exc.message) from None


id_number.needs_today = True


def phone(value):
    s = _code_cell_text(value, "手机号码")
    if not s:
        return ""
    try:
        return identifiers.validate_phone(s)
    except identifiers.InvalidCode as exc:
        raise CellError(exc.message) from None


def industry(value):
    s = _code_cell_text(value, "行业代码")
    try:
        return normalize_industry(s)
    except ValueError:
        raise CellError(
            f"“{s[:20]}”不是国民经济行业代码：应为门类字母（A–T）或行业代码，如 F、F52、5211"
        ) from None


IN_OUT = {
    "入库": True,
    "出库": False,
    "入": True,
    "出": False,
    "新增": True,
    "更新": True,
    "移出": False,
}


# --- schemas --------------------------------------------------------------------------------------


class Schema:
    kind: str
    title: str
    sheet_name: str
    columns: tuple[Column, ...]
    key: str  # the column that identifies a record

    def __init__(self):
        self.by_key = {c.key: c for c in self.columns}
        self._lookup: dict[str, Column] = {}
        for column in self.columns:
            for text_ in (column.heading, *column.aliases):
                self._lookup[heading_key(text_)] = column

    @property
    def headings(self) -> list[str]:
        return [c.heading for c in self.columns if not c.ignored]

    @property
    def export_columns(self) -> list[Column]:
        return [c for c in self.columns if not c.ignored]

    def column_for(self, heading) -> Column | None:
        return self._lookup.get(heading_key(heading))

    def is_header(self, cells: list) -> bool:
        known = [c for c in (self.column_for(x) for x in cells if x not in (None, "")) if c]
        return len(known) >= 2 and any(c.required for c in known)

    def map_headers(self, headers: list, *, where: str = "") -> HeaderMap:
        """Match the file's headings, or :class:`FileRejected` listing what is missing, unknown
        or repeated."""
        index: dict[str, int] = {}
        written: dict[str, str] = {}
        unknown: list[str] = []
        duplicate: list[str] = []
        ignored: list[str] = []
        for i, raw in enumerate(headers):
            shown = as_text(raw).replace("\n", "")
            if not shown:
                continue
            column = self.column_for(raw)
            if column is None:
                unknown.append(shown)
            elif column.ignored:
                ignored.append(shown)
            elif column.key in index:
                duplicate.append(f"“{shown}”（与“{written[column.key]}”重复）")
            else:
                index[column.key] = i
                written[column.key] = shown
        missing = [c.heading for c in self.columns if c.required and c.key not in index]
        if missing or unknown or duplicate:
            parts = []
            if missing:
                parts.append("缺少必填列：" + "、".join(f"“{m}”" for m in missing))
            if unknown:
                hints = []
                for u in unknown[:20]:
                    close = difflib.get_close_matches(u, self.headings, n=1, cutoff=0.5)
                    hints.append(f"“{u}”" + (f"（是否应为“{close[0]}”？）" if close else ""))
                parts.append(
                    "无法识别的列：" + "、".join(hints) + ("等" if len(unknown) > 20 else "")
                )
            if duplicate:
                parts.append("重复的列：" + "、".join(duplicate))
            prefix = (
                f"{where}的列标题与{self.title}模板不符。"
                if where
                else f"列标题与{self.title}模板不符。"
            )
            raise FileRejected(
                prefix + "；".join(parts) + "。请下载模板，按模板的列标题填写后重新上传"
            )
        return HeaderMap(index=index, headings=written, ignored=ignored)

    # A cleaner is built once per file: the list of (key, index, converter) for present columns.
    def cleaner(
        self, header: HeaderMap, context: Context
    ) -> Callable[[list], tuple[dict, RowErrors]]:
        raise NotImplementedError

    def _converters(self, header: HeaderMap, context: Context, table: dict[str, Callable]):
        plan = []
        for key, index in header.index.items():
            convert = table.get(key)
            if convert is None:
                continue
            if getattr(convert, "needs_today", False):
                convert = _with_today(convert, context.today)
            if key in MEMO_KEYS:
                convert = memo(convert)
            plan.append((key, index, convert, header.headings[key]))
        return plan


# Columns whose values repeat (cached per file); free text such as names is not.
MEMO_KEYS = frozenset(
    {
        "object_kind", "entity_type", "registration_authority", "reg_status", "established",
        "region", "industry", "risk_class", "abnormal", "serious_illegal", "complaints", "tags",
        "gender", "unit", "division", "level", "certificate_authority", "certificate_valid_from",
        "certificate_valid_to", "regions", "specialities", "kind", "available",
    }
)  # fmt: skip


def _with_today(convert, today):
    return lambda value: convert(value, today)


def _run(plan, cells, width, values, errors):
    for key, index, convert, heading in plan:
        value = cells[index] if index < width else None
        try:
            values[key] = convert(value)
        except CellError as exc:
            errors.append((heading, value, exc.message))


def _region(context: Context, *, allow_blank: bool = True):
    def convert(value):
        s = _code_cell_text(value, "行政区划代码")
        if not s:
            return None
        key = unicodedata.normalize("NFKC", s).strip()
        try:
            return context.regions[key]
        except KeyError:
            raise CellError(f"“{s[:20]}”不是本辖区的行政区划代码") from None

    return convert


def _regions_multi(context: Context):
    def convert(value):
        s = as_text(value, multiline=True)
        if not s:
            return ""
        codes = []
        for part in _SPLIT.split(s):
            part = unicodedata.normalize("NFKC", part).strip()
            if not part:
                continue
            region_id = context.regions.get(part)
            if region_id is None:
                raise CellError(f"“{part[:20]}”不是本辖区的行政区划代码")
            codes.append(context.region_codes.get(region_id, part))
        packed = pack(codes)
        if len(packed) > 500:
            raise CellError("执法区域过多：合计不能超过 500 个字符")
        return packed

    return convert


# --- targets --------------------------------------------------------------------------------------

_KIND_WORDS = {label: value for value, label in Target.ObjectKind.choices} | {
    v: v for v in Target.ObjectKind.values
} | {"公司": "company", "个体": "individual", "合作社": "cooperative", "非市场主体": "non_market",
     "机关": "institution", "事业单位": "institution", "机关事业单位": "institution", "社会团体": "social",
     "民办非企业单位": "social", "基金会": "social", "其他": "other_org"}  # fmt: skip

_STATUS_WORDS = {label: value for value, label in Target.RegStatus.choices} | {
    v: v for v in Target.RegStatus.values
} | {"存续": "active", "在业": "active", "在营": "active", "开业": "active", "在册": "active",
     "正常": "active", "登记成立": "active", "确立": "active", "停业": "suspended", "歇业": "suspended",
     "注销": "deregistered", "已注销": "deregistered", "吊销": "revoked", "已吊销": "revoked",
     "吊销未注销": "revoked", "吊销,未注销": "revoked", "撤销": "cancelled", "已撤销": "cancelled",
     "迁出": "moved_out", "已迁出": "moved_out"}  # fmt: skip

_RISK_WORDS = {label: value for value, label in Target.RiskClass.choices} | {
    v: v for v in Target.RiskClass.values
} | {"A类": "A", "B类": "B", "C类": "C", "D类": "D", "低": "A", "一般": "B", "较高": "C", "高": "D",
     "信用风险低": "A", "信用风险一般": "B", "信用风险较高": "C", "信用风险高": "D", "未分类": "U",
     "U类": "U"}  # fmt: skip


class TargetSchema(Schema):
    kind = "targets"
    title = "检查对象名录库"
    sheet_name = "检查对象名录库"
    key = "code"
    columns = (
        Column("seq", "序号", ignored=True),
        Column(
            "code", "统一社会信用代码/注册号", required=True, text=True, width=24,
            aliases=("统一社会信用代码", "社会信用代码", "信用代码", "注册号", "统一社会信用代码或注册号",
                     "统一社会信用代码/注册号/编码", "对象编码", "代码"),
            help="18位统一社会信用代码（校验位必须正确，N、Y 等字母开头的代码有效）、15位注册号，或非市场主体的自编编码（最多64个字符）。同一代码在文件中只能出现一次",
            example="91652801MA78A1B2C3",
        ),
        Column("name", "名称", required=True, width=30, aliases=("市场主体名称", "企业名称", "对象名称", "单位名称", "主体名称"),
               help="检查对象名称，最多200个字", example="库尔勒某某商贸有限公司"),
        Column("object_kind", "对象类别", aliases=("主体类别",), choices=tuple(Target.ObjectKind.labels),
               allowed="、".join(Target.ObjectKind.labels),
               help="留空时按代码自动判断（91 企业、92 个体工商户、93 农民专业合作社、5 开头社会组织、12 事业单位、注册号为企业、自编编码为非市场主体）", example="企业"),
        Column("entity_type", "市场主体类型", aliases=("主体类型", "企业类型", "类型"), help="如 有限责任公司（自然人投资或控股），最多100个字", example="有限责任公司"),
        Column("registration_authority", "登记机关", help="最多100个字", example="库尔勒市市场监督管理局"),
        Column("legal_rep", "法定代表人", aliases=("法定代表人/负责人", "法定代表人(负责人)", "负责人", "经营者", "法定代表人或负责人"),
               help="法定代表人或负责人、经营者，最多100个字", example="张三"),
        Column("address", "住所", aliases=("地址", "住所/经营场所", "经营场所", "住所(经营场所)"), width=30, help="最多300个字", example="新疆库尔勒市人民东路1号"),
        Column("reg_status", "登记状态", aliases=("经营状态", "企业状态", "状态"), choices=("存续", "停业", "注销", "吊销", "撤销", "迁出"),
               allowed="存续（在业、在营、开业、在册）、停业、注销、吊销、撤销、迁出", help="留空为存续", example="存续"),
        Column("established", "成立日期", aliases=("注册日期", "成立时间", "登记日期"), help="如 2020-01-02、2020/1/2、20200102，或 Excel 日期", example="2020-01-02"),
        Column("business_scope", "经营范围", width=30, help="不限字数", example="日用百货销售"),
        Column("region", "所属区域(行政区划代码)", aliases=("所属区域", "行政区划代码", "区域", "所属地区", "区划代码", "所属区域代码"), text=True,
               help="本辖区县级或乡级行政区划代码（6位），也可填区划名称", example="652801"),
        Column("industry", "行业代码", aliases=("国民经济行业代码", "国民经济行业分类代码", "行业", "行业分类代码"), text=True,
               help="国民经济行业分类（GB/T 4754-2017）门类字母或代码，如 F、F52、F5211、5211", example="F5211"),
        Column("risk_class", "信用风险分类", aliases=("信用风险等级", "风险分类", "信用风险类别", "风险等级", "信用风险"), choices=("A", "B", "C", "D"),
               allowed="A（信用风险低）、B（一般）、C（较高）、D（高），留空为未分类", help="企业信用风险分类结果，内部使用，不公开", example="B"),
        Column("abnormal", "经营异常名录", aliases=("列入经营异常名录", "是否列入经营异常名录"), choices=("是", "否"), allowed="是、否，留空为否", help="是否列入经营异常名录", example="否"),
        Column("serious_illegal", "严重违法失信名单", aliases=("列入严重违法失信名单", "严重违法失信", "是否列入严重违法失信名单"), choices=("是", "否"),
               allowed="是、否，留空为否", help="是否列入严重违法失信名单", example="否"),
        Column("complaints", "投诉举报次数", aliases=("投诉举报", "投诉次数"), help="非负整数，留空为0", example="0"),
        Column("tags", "标签", aliases=("子库", "标签(子库)", "子库标签"), help="本部门的子库标签，多个用“、”或“|”分隔；导入时整体替换该对象原有标签", example="食品经营、重点监管"),
        Column("in_out", "出入库", aliases=("出入库标志", "操作"), choices=("入库", "出库"), allowed="入库、出库，留空为入库",
               help="出库 = 从本部门名录库移出（只需填写代码，其余列不处理）", example="入库"),
        Column("note", "备注", ignored=True),
    )  # fmt: skip

    def cleaner(self, header: HeaderMap, context: Context):
        table = {
            "name": text(200, required=True, label="名称"),
            "object_kind": choice(
                _KIND_WORDS, default="", allowed="、".join(Target.ObjectKind.labels)
            ),
            "entity_type": text(100),
            "registration_authority": text(100),
            "legal_rep": text(100),
            "address": text(300),
            "reg_status": choice(
                _STATUS_WORDS, default="active", allowed=self.by_key["reg_status"].allowed
            ),
            "established": date(not_future=True),
            "business_scope": text(100_000, multiline=True),
            "region": _region(context),
            "industry": industry,
            "risk_class": choice(
                _RISK_WORDS, default="U", allowed=self.by_key["risk_class"].allowed
            ),
            "abnormal": yes_no(False),
            "serious_illegal": yes_no(False),
            "complaints": non_negative_int,
            "tags": multi("标签"),
        }
        plan = self._converters(header, context, table)
        code_index = header.index["code"]
        code_heading = header.headings["code"]
        io_index = header.index.get("in_out")
        # Memoised: the column repeats 入库/出库 on every row, and choice_key normalises (NFKC).
        io_convert = memo(choice(IN_OUT, default=True, allowed="入库、出库"))

        def clean(cells: list) -> tuple[dict, RowErrors]:
            width = len(cells)
            errors: RowErrors = []
            values: dict = {}
            raw = cells[code_index] if code_index < width else None
            try:
                values["code_kind"], values["code"] = target_code(raw)
            except CellError as exc:
                errors.append((code_heading, raw, exc.message))
            active = True
            if io_index is not None:
                raw_io = cells[io_index] if io_index < width else None
                try:
                    active = io_convert(raw_io)
                except CellError as exc:
                    errors.append((header.headings["in_out"], raw_io, exc.message))
            values["active"] = active
            if not active:
                return values, errors  # 出库 needs only the code
            _run(plan, cells, width, values, errors)
            if not errors and not values.get("object_kind", "x"):
                del values["object_kind"]  # blank: derived for new targets, kept for existing ones
            return values, errors

        return clean

    @staticmethod
    def derive_kind(values: dict) -> str:
        return guess_object_kind(values["code_kind"], values["code"])


# --- inspectors -----------------------------------------------------------------------------------

_GENDER = {"男": "M", "女": "F", "M": "M", "F": "F", "男性": "M", "女性": "F"}
_PERSON_KIND = {"执法检查人员": "inspector", "执法人员": "inspector", "检查人员": "inspector", "inspector": "inspector",
                "专家": "expert", "expert": "expert", "外部专家": "expert"}  # fmt: skip


class InspectorSchema(Schema):
    kind = "inspectors"
    title = "执法检查人员名录库"
    sheet_name = "执法人员名录库"
    key = "id_number"
    columns = (
        Column("seq", "序号", ignored=True),
        Column("id_number", "身份证号", required=True, text=True, width=22, aliases=("身份证号码", "公民身份号码", "居民身份证号", "身份证"),
               help="18位居民身份证号（校验位必须正确），名录库的唯一标识", example="652801199001011234"),
        Column("name", "姓名", required=True, help="最多50个字", example="李四"),
        Column("gender", "性别", choices=("男", "女"), allowed="男、女，留空按身份证号判断", example="男"),
        Column("phone", "手机号码", text=True, aliases=("手机号", "联系电话", "电话", "手机"), help="11位手机号或带区号的固定电话", example="13899001234"),
        Column("unit", "所在单位", aliases=("单位", "工作单位"), help="最多100个字", example="巴州市场监督管理局"),
        Column("division", "所在部门", aliases=("科室", "所在科室", "部门", "处室"), help="科室或处室，最多100个字", example="食品安全监督管理科"),
        Column("level", "用户级别", aliases=("级别", "职级", "人员级别"), help="最多50个字", example="科员"),
        Column("certificate_no", "执法证号", text=True, aliases=("执法证件号", "执法证编号", "行政执法证号", "执法证件号码"), help="行政执法证号；无执法证的人员不能被抽取为检查人员", example="65280012345"),
        Column("certificate_authority", "发证机关", help="最多100个字", example="新疆维吾尔自治区人民政府"),
        Column("certificate_valid_from", "执法证有效期起", aliases=("有效期起", "发证日期", "执法证有效期自"), help="日期，如 2024-01-01", example="2024-01-01"),
        Column("certificate_valid_to", "执法证有效期止", aliases=("有效期止", "有效期至", "执法证有效期至"), help="日期，如 2029-12-31", example="2029-12-31"),
        Column("regions", "执法区域", aliases=("执法区域(行政区划代码)", "负责区域"), text=True, help="行政区划代码或名称，多个用“、”分隔", example="652801、652822"),
        Column("specialities", "业务专长", aliases=("专长",), help="多个用“、”分隔", example="食品安全、特种设备"),
        Column("tags", "标签", help="按检查方式等分类的标签，多个用“、”分隔", example="实地核查"),
        Column("kind", "人员类别", aliases=("类别",), choices=("执法检查人员", "专家"), allowed="执法检查人员、专家，留空为执法检查人员", example="执法检查人员"),
        Column("available", "是否可参与抽取", aliases=("可参与抽取", "是否参与抽取", "参与抽取"), choices=("是", "否"), allowed="是、否，留空为是", example="是"),
        Column("availability_note", "不可参与原因", aliases=("不可参与抽取原因",), help="不可参与抽取时的原因，如 借调、病假，最多200个字", example=""),
        Column("in_out", "出入库", aliases=("出入库标志", "操作"), choices=("入库", "出库"), allowed="入库、出库，留空为入库",
               help="出库 = 停用该人员（只需填写身份证号）", example="入库"),
        Column("note", "备注", ignored=True),
    )  # fmt: skip

    def cleaner(self, header: HeaderMap, context: Context):
        table = {
            "name": text(50, required=True, label="姓名"),
            "gender": choice(_GENDER, default="", allowed="男、女"),
            "phone": phone,
            "unit": text(100),
            "division": text(100),
            "level": text(50),
            "certificate_no": text(50),
            "certificate_authority": text(100),
            "certificate_valid_from": date(),
            "certificate_valid_to": date(),
            "regions": _regions_multi(context),
            "specialities": multi("业务专长"),
            "tags": multi("标签"),
            "kind": choice(_PERSON_KIND, default="inspector", allowed="执法检查人员、专家"),
            "available": yes_no(True),
            "availability_note": text(200),
        }
        plan = self._converters(header, context, table)
        key_index, key_heading = header.index["id_number"], header.headings["id_number"]
        io_index = header.index.get("in_out")
        # Memoised: the column repeats 入库/出库 on every row, and choice_key normalises (NFKC).
        io_convert = memo(choice(IN_OUT, default=True, allowed="入库、出库"))
        today = context.today

        def clean(cells: list) -> tuple[dict, RowErrors]:
            width = len(cells)
            errors: RowErrors = []
            values: dict = {}
            raw = cells[key_index] if key_index < width else None
            try:
                values["id_number"] = id_number(raw, today)
            except CellError as exc:
                errors.append((key_heading, raw, exc.message))
            active = True
            if io_index is not None:
                raw_io = cells[io_index] if io_index < width else None
                try:
                    active = io_convert(raw_io)
                except CellError as exc:
                    errors.append((header.headings["in_out"], raw_io, exc.message))
            values["active"] = active
            if not active:
                return values, errors
            _run(plan, cells, width, values, errors)
            if values.get("gender") == "" and "id_number" in values:
                values["gender"] = "M" if int(values["id_number"][16]) % 2 else "F"
            start, end = values.get("certificate_valid_from"), values.get("certificate_valid_to")
            if start and end and end < start:
                errors.append(
                    (header.headings["certificate_valid_to"], end, "执法证有效期止不能早于有效期起")
                )
            return values, errors

        return clean


# --- items ----------------------------------------------------------------------------------------

_ITEM_FIELD_HEADINGS = {
    "category": "抽查类别", "name": "检查事项", "target_type": "检查对象", "item_type": "事项类别",
    "methods": "检查方式", "subject": "检查主体", "frequency": "检查频次", "content": "检查内容",
    "basis": "检查依据", "item_class": "事项分类",
}  # fmt: skip


class ItemSchema(Schema):
    kind = "items"
    title = "抽查事项清单"
    sheet_name = "抽查事项清单"
    key = "code"
    columns = (
        Column("seq", "序号", ignored=True),
        Column("code", "事项编码", text=True, aliases=("编码", "事项代码", "事项编号"),
               help="留空为新增事项（自动编号，如 SCJGJ-001）；填写已有编码则更新该事项。没有编码时按检查事项名称匹配", example="SCJGJ-001"),
        Column("category", "抽查类别", required=True, aliases=("抽查项目",), help="最多100个字", example="食品安全"),
        Column("name", "检查事项", required=True, width=30, aliases=("检查事项名称", "抽查事项"), help="最多300个字", example="食品经营者经营许可情况的检查"),
        Column("target_type", "检查对象", required=True, help="最多300个字", example="食品经营者"),
        Column("item_type", "事项类别", choices=("一般检查事项", "重点检查事项"), allowed="一般检查事项、重点检查事项（可简写为一般、重点）", example="一般检查事项"),
        Column("methods", "检查方式", required=True, allowed="书面检查、网络监测、实地核查、其他，可多选，用“、”分隔", example="实地核查、书面检查"),
        Column("subject", "检查主体", required=True, help="最多200个字", example="州市场监督管理局"),
        Column("frequency", "检查频次", help="最多100个字", example="每年不少于1次"),
        Column("content", "检查内容", width=30, help="不限字数", example="检查食品经营许可证是否在有效期内"),
        Column("basis", "检查依据", required=True, width=30, aliases=("法律依据", "检查依据(法律法规)"), help="法律、法规、规章条款", example="《中华人民共和国食品安全法》第三十五条"),
        Column("item_class", "事项分类", aliases=("事项分类(A/B/C)", "分类", "事项分类(ABC)"), choices=("A", "B", "C"),
               allowed="A（一般事项，比例≤10%）、B（重点事项，比例>10%）、C（部门联合抽查事项），留空为A", example="A"),
        Column("in_out", "出入库", aliases=("出入库标志", "操作"), choices=("入库", "出库"), allowed="入库、出库，留空为入库",
               help="出库 = 从草稿清单中删除该事项（只需填写事项编码）", example="入库"),
        Column("note", "备注", ignored=True),
    )  # fmt: skip

    def cleaner(self, header: HeaderMap, context: Context):
        present = [
            (k, i, header.headings[k]) for k, i in header.index.items() if k in _ITEM_FIELD_HEADINGS
        ]
        code_index = header.index.get("code")
        io_index = header.index.get("in_out")
        # Memoised: the column repeats 入库/出库 on every row, and choice_key normalises (NFKC).
        io_convert = memo(choice(IN_OUT, default=True, allowed="入库、出库"))
        code_text = text(40)
        absent = {
            k for k in ("item_type", "item_class", "frequency", "content") if k not in header.index
        }

        def clean(cells: list) -> tuple[dict, RowErrors]:
            width = len(cells)
            errors: RowErrors = []
            values: dict = {}
            if code_index is not None:
                raw = cells[code_index] if code_index < width else None
                try:
                    code = unicodedata.normalize("NFKC", code_text(raw)).replace(" ", "").upper()
                    values["code"] = code
                except CellError as exc:
                    errors.append((header.headings["code"], raw, exc.message))
            active = True
            if io_index is not None:
                raw_io = cells[io_index] if io_index < width else None
                try:
                    active = io_convert(raw_io)
                except CellError as exc:
                    errors.append((header.headings["in_out"], raw_io, exc.message))
            values["active"] = active
            if not active:
                if code_index is None or (not values.get("code") and not errors):
                    errors.append(
                        (header.headings.get("code", "事项编码"), "", "出库需要填写事项编码")
                    )
                return values, errors
            data = {}
            raw_by_key = {}
            for key, index, _heading in present:
                raw = cells[index] if index < width else None
                raw_by_key[key] = raw
                data[key] = as_text(raw, multiline=key in ("content", "basis"))
            # Blank 事项分类 means A and blank 事项类别 follows the class (B → 重点); a missing
            # column keeps the existing item's value (dropped from ``values`` below).
            if not data.get("item_class"):
                data["item_class"] = "A"
            if not data.get("item_type"):
                data["item_type"] = (
                    "重点检查事项"
                    if choice_key(data["item_class"]).startswith("B")
                    else "一般检查事项"
                )
            cleaned, field_errors = clean_item_fields(data)
            for key, message in field_errors.items():
                heading = header.headings.get(key, _ITEM_FIELD_HEADINGS.get(key, key))
                errors.append((heading, raw_by_key.get(key, ""), message))
            values.update(cleaned)
            for key in absent:
                values.pop(key, None)
            if (
                "item_class" not in absent
                and "item_type" in absent
                and values.get("item_class") in ("A", "B")
            ):
                values["item_type"] = "key" if values["item_class"] == "B" else "general"
            return values, errors

        return clean


SCHEMAS: dict[str, Schema] = {s.kind: s for s in (TargetSchema(), InspectorSchema(), ItemSchema())}


def get_schema(kind: str) -> Schema:
    try:
        return SCHEMAS[kind]
    except KeyError:
        raise ValueError(f"未知的导入类型：{kind}（可选 targets、inspectors、items）") from None
