"""Row cleaning: every column's conversions and the Chinese errors for bad values."""

import datetime

import pytest

from shuangsuiji.transfer import schemas

from .helpers import id_number, uscc

CTX = schemas.Context(
    regions={"652801": 1, "库尔勒市": 1, "652822": 2, "轮台县": 2},
    region_codes={1: "652801", 2: "652822"},
    today=datetime.date(2026, 6, 1),
)


def cleaner(kind: str, headings: list[str]):
    schema = schemas.get_schema(kind)
    return schema.cleaner(schema.map_headers(headings), CTX)


def clean_one(kind: str, row: dict):
    values, errors = cleaner(kind, list(row))(list(row.values()))
    return values, {heading: message for heading, _value, message in errors}


# --- targets -------------------------------------------------------------------------------------------


def test_target_row_is_converted():
    values, errors = clean_one(
        "targets",
        {
            "统一社会信用代码/注册号": " " + uscc(1).lower() + " ",
            "名称": "库尔勒<b>某某</b>商贸有限公司\x07",
            "登记状态": "在业",
            "成立日期": "2020/1/2",
            "所属区域(行政区划代码)": "库尔勒市",
            "行业代码": "5211",
            "信用风险分类": "c类",
            "经营异常名录": "Y",
            "严重违法失信名单": "否",
            "投诉举报次数": "3",
            "标签": "食品经营、重点监管；食品经营",
            "出入库": "",
        },
    )
    assert errors == {}
    assert values["code"] == uscc(1) and values["code_kind"] == "uscc"
    assert values["name"] == "库尔勒<b>某某</b>商贸有限公司"  # HTML kept as text, control char gone
    assert values["reg_status"] == "active"
    assert values["established"] == datetime.date(2020, 1, 2)
    assert values["region"] == 1
    assert values["industry"] == "F5211"
    assert values["risk_class"] == "C"
    assert values["abnormal"] is True and values["serious_illegal"] is False
    assert values["complaints"] == 3
    assert values["tags"] == "|食品经营|重点监管|"
    assert values["active"] is True
    assert "object_kind" not in values  # derived for new targets, kept for existing ones


def _bad_regno() -> str:
    from shuangsuiji.directory.identifiers import regno_check_digit

    first14 = "65280100000002"
    return first14 + str((int(regno_check_digit(first14)) + 1) % 10)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (uscc(1)[:17] + ("0" if uscc(1)[17] != "0" else "1"), "校验位错误"),
        (uscc(1)[:-1], "统一社会信用代码应为18位"),  # a character dropped: not a non-market code
        (uscc(10).replace("0", "O", 1), "疑为“0”"),  # a look-alike letter typed for a digit
        (_bad_regno(), "注册号校验位错误"),
        ("", "编码不能为空"),
    ],
)
def test_bad_target_codes(code, message):
    _, errors = clean_one("targets", {"统一社会信用代码/注册号": code, "名称": "甲"})
    assert message in errors["统一社会信用代码/注册号"]


def test_letter_prefixed_and_regno_codes_are_valid():
    from shuangsuiji.directory.identifiers import regno_check_digit

    regno = "65280100000001"
    regno += regno_check_digit(regno)
    for code, kind in ((uscc(5, "N2"), "uscc"), (uscc(6, "Y1"), "uscc"), (regno, "regno")):
        values, errors = clean_one("targets", {"统一社会信用代码/注册号": code, "名称": "甲"})
        assert errors == {} and values["code_kind"] == kind


def test_code_stored_as_number_by_excel():
    _, errors = clean_one("targets", {"统一社会信用代码/注册号": 9.16528011e17, "名称": "甲"})
    assert "存成了数字" in errors["统一社会信用代码/注册号"]


@pytest.mark.parametrize(
    ("heading", "value", "message"),
    [
        ("名称", "", "名称不能为空"),
        ("名称", "长" * 201, "最多 200 个字"),
        ("登记状态", "正在营业中", "不是有效的值"),
        ("成立日期", "2020-13-01", "不是有效日期"),
        ("成立日期", "去年", "不是日期"),
        ("成立日期", "2099-01-01", "晚于今天"),
        ("所属区域(行政区划代码)", "999999", "不是本辖区的行政区划代码"),
        ("行业代码", "Z99", "不是国民经济行业代码"),
        ("信用风险分类", "E", "不是有效的值"),
        ("经营异常名录", "也许", "不是有效的值"),
        ("投诉举报次数", "-1", "不能为负数"),
        ("投诉举报次数", "三次", "不是整数"),
        ("标签", "长" * 41, "过长"),
        ("出入库", "删除", "不是有效的值"),
    ],
)
def test_bad_target_values(heading, value, message):
    row = {"统一社会信用代码/注册号": uscc(1), "名称": "甲", heading: value}
    _, errors = clean_one("targets", row)
    assert message in errors[heading]


def test_all_errors_of_a_row_are_reported():
    _, errors = clean_one(
        "targets",
        {"统一社会信用代码/注册号": "\x01", "名称": "", "成立日期": "x", "信用风险分类": "Q"},
    )
    assert set(errors) == {"统一社会信用代码/注册号", "名称", "成立日期", "信用风险分类"}


def test_remove_row_needs_only_the_code():
    values, errors = clean_one(
        "targets",
        {"统一社会信用代码/注册号": uscc(1), "名称": "", "成立日期": "坏", "出入库": "出库"},
    )
    assert errors == {} and values == {"code": uscc(1), "code_kind": "uscc", "active": False}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime.date(2020, 1, 2), datetime.date(2020, 1, 2)),
        (datetime.datetime(2020, 1, 2, 0, 0), datetime.date(2020, 1, 2)),
        ("2020-01-02", datetime.date(2020, 1, 2)),
        ("2020/1/2", datetime.date(2020, 1, 2)),
        ("2020.01.02", datetime.date(2020, 1, 2)),
        ("20200102", datetime.date(2020, 1, 2)),
        (20200102, datetime.date(2020, 1, 2)),
        (43832.0, datetime.date(2020, 1, 2)),  # an Excel serial in a cell not formatted as date
        ("2020年1月2日", datetime.date(2020, 1, 2)),
        ("２０２０－０１－０２", datetime.date(2020, 1, 2)),
        ("", None),
    ],
)
def test_date_forms(value, expected):
    assert schemas.parse_date(value, today=CTX.today) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("存续", "active"), ("开业", "active"), ("在册", "active"), ("存续（在营、开业、在册）", "active"),
     ("吊销，未注销", "revoked"), ("注销", "deregistered"), ("active", "active"), ("", "active")],
)  # fmt: skip
def test_status_synonyms(value, expected):
    values, errors = clean_one(
        "targets", {"统一社会信用代码/注册号": uscc(1), "名称": "甲", "登记状态": value}
    )
    assert errors == {} and values["reg_status"] == expected


# --- inspectors -----------------------------------------------------------------------------------------


def test_inspector_row():
    values, errors = clean_one(
        "inspectors",
        {
            "身份证号": id_number(3).lower(),
            "姓名": "李四",
            "性别": "",
            "手机号码": "+86 138 9900 1234",
            "执法证号": "65280012345",
            "执法证有效期起": "2024-01-01",
            "执法证有效期止": "2029-12-31",
            "执法区域": "652801、轮台县",
            "业务专长": "食品安全 特种设备",
            "人员类别": "专家",
            "是否可参与抽取": "否",
        },
    )
    assert errors == {}, errors
    assert values["id_number"] == id_number(3).upper()
    assert values["gender"] in ("M", "F")
    assert values["phone"] == "13899001234"
    assert values["regions"] == "|652801|652822|"
    assert values["kind"] == "expert" and values["available"] is False


def test_bad_inspector_values():
    bad_id = id_number(3)[:17] + ("0" if id_number(3)[17] != "0" else "1")
    _, errors = clean_one(
        "inspectors",
        {
            "身份证号": bad_id,
            "姓名": "李四",
            "手机号码": "12345",
            "执法证有效期起": "2025-01-01",
            "执法证有效期止": "2024-01-01",
            "性别": "未知",
        },
    )
    assert "校验位错误" in errors["身份证号"]
    assert "手机" in errors["手机号码"] or "电话" in errors["手机号码"]
    assert "不是有效的值" in errors["性别"]
    _, errors = clean_one(
        "inspectors",
        {
            "身份证号": id_number(3),
            "姓名": "李四",
            "执法证有效期起": "2025-01-01",
            "执法证有效期止": "2024-01-01",
        },
    )
    assert "不能早于" in errors["执法证有效期止"]


def test_id_number_stored_as_number_by_excel():
    _, errors = clean_one("inspectors", {"身份证号": 6.52801199e17, "姓名": "李四"})
    assert "存成了数字" in errors["身份证号"]


# --- items ----------------------------------------------------------------------------------------------

ITEM = {
    "抽查类别": "食品安全",
    "检查事项": "食品经营许可情况检查",
    "检查对象": "食品经营者",
    "事项类别": "一般",
    "检查方式": "实地核查，书面检查",
    "检查主体": "州市场监督管理局",
    "检查依据": "《中华人民共和国食品安全法》第三十五条",
    "事项分类(A/B/C)": "A类",
}


def test_item_row():
    values, errors = clean_one("items", ITEM)
    assert errors == {}
    assert values["methods"] == "书面检查、实地核查"
    assert values["item_type"] == "general" and values["item_class"] == "A"
    assert "frequency" not in values  # column absent: an existing item keeps its value


def test_bad_item_rows():
    _, errors = clean_one("items", {**ITEM, "检查方式": "飞行检查", "事项分类(A/B/C)": "B"})
    assert "飞行检查" in errors["检查方式"]
    assert "B类" in errors["事项分类(A/B/C)"]  # B is a key item, but 事项类别 says 一般
    _, errors = clean_one("items", {**ITEM, "检查依据": ""})
    assert "检查依据" in errors["检查依据"]


def test_item_class_b_without_type_column_is_a_key_item():
    row = {k: v for k, v in ITEM.items() if k != "事项类别"} | {"事项分类(A/B/C)": "B"}
    values, errors = clean_one("items", row)
    assert errors == {} and values["item_type"] == "key"
