"""The plan in the seed's table layout (seed 003 附件, seed 004 第二十六条) as .xlsx."""

import io

from .models import RISK_CLASSES

HEADINGS = (
    ("seq", "序号", 6),
    ("plan_name", "抽查计划名称", 24),
    ("task_name", "抽查任务名称", 24),
    ("type", "抽查类型", 14),
    ("population", "抽查对象总数", 10),
    ("ratios", "抽查比例", 24),
    ("expected", "预计抽查对象数", 10),
    ("items", "抽查事项", 40),
    ("scope", "抽查对象范围", 28),
    ("initiator", "检查发起机关", 18),
    ("joint", "联合机关", 24),
    ("draw_date", "抽取日期", 12),
    ("credit_linked", "信用风险等级区分", 10),
    ("lead_division", "牵头处室", 14),
    ("support_divisions", "配合处室", 18),
    ("period", "计划时间", 24),
)


def ratio_text(ratios: dict) -> str:
    return "，".join(f"{c}类{ratios[c] / 100:g}%" for c in RISK_CLASSES if c in ratios)


def _cell(row: dict, key: str):
    value = row.get(key, "")
    if key == "ratios":
        return ratio_text(value or {})
    if key in ("items", "joint"):
        return "\n".join(value) if key == "items" else "、".join(value)
    if key == "credit_linked":
        return "是" if value else "否"
    return value


def workbook(title: str, rows: list[dict]) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("抽查工作计划")
    title_fmt = book.add_format({"bold": True, "font_size": 14, "align": "center"})
    head_fmt = book.add_format(
        {
            "bold": True,
            "border": 1,
            "align": "center",
            "valign": "vcenter",
            "text_wrap": True,
            "bg_color": "#DDEBF7",
        }
    )
    cell_fmt = book.add_format({"border": 1, "valign": "top", "text_wrap": True})
    sheet.merge_range(0, 0, 0, len(HEADINGS) - 1, title, title_fmt)
    for col, (_key, heading, width) in enumerate(HEADINGS):
        sheet.write_string(1, col, heading, head_fmt)
        sheet.set_column(col, col, width)
    for r, row in enumerate(rows, start=2):
        for col, (key, _heading, _width) in enumerate(HEADINGS):
            value = _cell(row, key)
            if isinstance(value, int) and not isinstance(value, bool):
                sheet.write_number(r, col, value, cell_fmt)
            else:
                sheet.write_string(r, col, str(value), cell_fmt)
    sheet.freeze_panes(2, 0)
    book.close()
    return out.getvalue()
