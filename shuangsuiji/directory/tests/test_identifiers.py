import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shuangsuiji.directory import identifiers as ids
from shuangsuiji.directory.identifiers import InvalidCode

# Public codes of well-known companies (from their published business-licence data); each also
# satisfies the embedded GB 11714 check digit.
PUBLIC_USCC = [
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "914403001922038216",  # 华为技术有限公司
    "91110000710925243K",  # 国家电网有限公司
    "91110000710925462X",  # 中国石油天然气股份有限公司
    "91330100799655058B",  # 阿里巴巴（中国）有限公司
    "91110108551385082Q",  # 北京小米科技有限责任公司
]
# The worked example of GB 11643-1999.
PUBLIC_ID = "11010519491231002X"

uscc_alphabet = st.sampled_from(ids.USCC_ALPHABET)
digits = st.sampled_from("0123456789")


@st.composite
def usccs(draw):
    first17 = "".join(draw(st.lists(uscc_alphabet, min_size=17, max_size=17)))
    return first17 + ids.uscc_check_char(first17)


@st.composite
def regnos(draw):
    first14 = "".join(draw(st.lists(digits, min_size=14, max_size=14)))
    return first14 + ids.regno_check_digit(first14)


@st.composite
def id_numbers(draw):
    area = "".join(draw(st.lists(digits, min_size=6, max_size=6)))
    birth = draw(st.dates(datetime.date(1900, 1, 1), datetime.date.today()))
    seq = "".join(draw(st.lists(digits, min_size=3, max_size=3)))
    return ids.make_id_number(area, birth, seq)


def message(exc_info) -> str:
    return exc_info.value.message


# --- normalize -------------------------------------------------------------------------------


def test_normalize_full_width_spaces_and_case():
    assert ids.normalize("\u3000９１４４０３００７０８４６１１３６ｔ\u00a0") == "91440300708461136T"
    assert ids.normalize(" 9144 0300\t7084\u200b61136t\n") == "91440300708461136T"
    assert ids.normalize(None) == ""


# --- 统一社会信用代码 ------------------------------------------------------------------------


@pytest.mark.parametrize("code", PUBLIC_USCC)
def test_public_codes_validate(code):
    assert ids.validate_uscc(code) == code
    assert ids.org_code_check_digit(code[8:16]) == code[16]
    assert ids.classify_target_code(code) == ("uscc", code)


def test_full_width_lower_case_code_is_normalised():
    assert ids.validate_uscc("９１４４０３００７０８４６１１３６ｔ") == "91440300708461136T"
    assert ids.validate_uscc(" 91440300 708461136t ") == "91440300708461136T"


def test_brief_example_is_not_a_valid_code():
    # 91110000100000589B was suggested as an example; its check character is A, not B.
    with pytest.raises(InvalidCode) as e:
        ids.validate_uscc("91110000100000589B")
    assert message(e) == "统一社会信用代码校验位错误：应为 A，实际为 B"


@pytest.mark.parametrize(
    ("authority", "kind"),
    [
        ("9", "1"),
        ("9", "2"),
        ("9", "3"),
        ("5", "1"),
        ("5", "2"),
        ("5", "3"),
        ("1", "2"),
        ("N", "2"),
        ("Y", "1"),
        ("A", "1"),
        ("3", "1"),
        ("8", "1"),
    ],
)
def test_letter_and_any_prefixed_codes_are_accepted(authority, kind):
    code = ids.make_uscc(authority, kind, "652801", "MA7XKQ2B")
    assert ids.validate_uscc(code) == code
    assert ids.classify_target_code(code.lower()) == ("uscc", code)


def test_region_is_never_checked():
    code = ids.make_uscc("9", "1", "999999", "12345678")
    assert ids.validate_uscc(code) == code


def test_make_uscc_embeds_org_check_digit():
    code = ids.make_uscc("9", "1", "652801", "MA7XKQ2B")
    assert code[16] == ids.org_code_check_digit("MA7XKQ2B")
    assert len(code) == 18


def test_wrong_embedded_org_check_digit_is_not_rejected():
    # Documented choice: only the 18th character is validated.
    first17 = "91652801MA7XKQ2B" + ("0" if ids.org_code_check_digit("MA7XKQ2B") != "0" else "1")
    code = first17 + ids.uscc_check_char(first17)
    assert ids.validate_uscc(code) == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "统一社会信用代码不能为空"),
        ("91440300708461136", "统一社会信用代码应为18位，实际为17位"),
        ("91440300708461136TT", "统一社会信用代码应为18位，实际为19位"),
        ("9144030070846I136T", "统一社会信用代码含非法字符“I”（疑为“1”）"),
        ("9144030070846113OT", "统一社会信用代码含非法字符“O”（疑为“0”）"),
        ("91440300708461136-", "统一社会信用代码含非法字符“-”"),
        ("91440300708461136A", "统一社会信用代码校验位错误：应为 T，实际为 A"),
    ],
)
def test_bad_uscc_messages(text, expected):
    with pytest.raises(InvalidCode) as e:
        ids.validate_uscc(text)
    assert message(e) == expected
    assert isinstance(e.value, ValueError)


@given(usccs(), st.integers(0, 17), uscc_alphabet)
def test_every_single_character_corruption_of_uscc_is_detected(code, pos, ch):
    assert ids.validate_uscc(code) == code
    if code[pos] == ch:
        return
    corrupted = code[:pos] + ch + code[pos + 1 :]
    with pytest.raises(InvalidCode):
        ids.validate_uscc(corrupted)
    with pytest.raises(InvalidCode):
        ids.classify_target_code(corrupted)


def test_every_single_character_corruption_exhaustive_on_public_code():
    code = PUBLIC_USCC[0]
    for pos in range(18):
        for ch in ids.USCC_ALPHABET:
            if ch != code[pos]:
                with pytest.raises(InvalidCode):
                    ids.validate_uscc(code[:pos] + ch + code[pos + 1 :])


# --- 注册号 ----------------------------------------------------------------------------------


def test_regno_hand_computed():
    # ISO 7064 MOD 11,10 by hand for 65280100000001: P starts at 10, for each digit
    # S = (P + d) mod 10 (0 → 10), P = 2S mod 11:
    # 6→1, 5→1, 2→6, 8→8, 0→5, 1→1, 0→2, 0→4, 0→8, 0→5, 0→10, 0→9, 0→7, 1→5;
    # the check digit c makes (P + c) mod 10 == 1, so c = 6.
    assert ids.regno_check_digit("65280100000001") == "6"
    assert ids.validate_regno("652801000000016") == "652801000000016"


@given(regnos(), st.integers(0, 14), digits)
def test_every_single_digit_corruption_of_regno_is_detected(code, pos, d):
    assert ids.validate_regno(code) == code
    assert ids.classify_target_code(code) == ("regno", code)
    if code[pos] == d:
        return
    corrupted = code[:pos] + d + code[pos + 1 :]
    with pytest.raises(InvalidCode):
        ids.validate_regno(corrupted)
    with pytest.raises(InvalidCode):
        ids.classify_target_code(corrupted)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "注册号不能为空"),
        ("65280100000001", "注册号应为15位数字，实际为14位"),
        ("65280100000001A", "注册号只能包含数字，含非法字符“A”"),
        ("652801000000013", "注册号校验位错误：应为 6，实际为 3"),
    ],
)
def test_bad_regno_messages(text, expected):
    with pytest.raises(InvalidCode) as e:
        ids.validate_regno(text)
    assert message(e) == expected


def test_full_width_regno():
    assert ids.validate_regno("６５２８０１０００００００１６") == "652801000000016"


# --- classify_target_code --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SC10665280100123", ("other", "SC10665280100123")),
        ("容3AN新M00123(17)", ("other", "容3AN新M00123(17)")),
        ("项目-2024-ｂｚ001", ("other", "项目-2024-BZ001")),
        ("12345678901234", ("other", "12345678901234")),  # 14 digits: not a regno
        ("ABCDEFGHIJKLMNOPQR", ("other", "ABCDEFGHIJKLMNOPQR")),  # has I/O: not a USCC
        ("x" * 64, ("other", "X" * 64)),
    ],
)
def test_other_codes(text, expected):
    assert ids.classify_target_code(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "编码不能为空"),
        (" \u3000 ", "编码不能为空"),
        ("x" * 65, "编码过长：最多64个字符，实际为65个"),
        ("AB\x00C", "编码含不可见的控制字符（U+0000）"),
        ("9144O300708461136T", "统一社会信用代码含非法字符“O”（疑为“0”）"),
        ("9I440300708461136T", "统一社会信用代码含非法字符“I”（疑为“1”）"),
        ("91440300708461136A", "统一社会信用代码校验位错误：应为 T，实际为 A"),
        ("652801000000013", "注册号校验位错误：应为 6，实际为 3"),
    ],
)
def test_classify_rejects(text, expected):
    with pytest.raises(InvalidCode) as e:
        ids.classify_target_code(text)
    assert message(e) == expected


def test_classify_whitespace_inside_code_is_removed():
    # TAB/LF are whitespace: removed by normalisation rather than stored.
    assert ids.classify_target_code("9144030070846\t1136T\n") == ("uscc", "91440300708461136T")


# --- 居民身份证号 ----------------------------------------------------------------------------


def test_public_id_number_with_x():
    assert ids.validate_id_number(PUBLIC_ID) == PUBLIC_ID
    assert ids.validate_id_number(PUBLIC_ID.lower()) == PUBLIC_ID
    assert ids.validate_id_number("１１０１０５１９４９１２３１００２ｘ") == PUBLIC_ID
    assert ids.id_check_char(PUBLIC_ID[:17]) == "X"


def test_make_id_number_roundtrip():
    number = ids.make_id_number("652801", datetime.date(1985, 6, 30), "123")
    assert ids.validate_id_number(number) == number
    assert number.startswith("65280119850630123")


def test_unknown_or_new_area_code_is_accepted():
    number = ids.make_id_number("659012", datetime.date(2000, 1, 1), "001")
    assert ids.validate_id_number(number) == number


@pytest.mark.parametrize(
    ("first17", "expected"),
    [
        ("65280119900230123", "身份证号出生日期无效：19900230 不是有效日期"),
        ("65280119901301123", "身份证号出生日期无效：19901301 不是有效日期"),
        ("65280118991231123", "身份证号出生日期无效：18991231 早于1900年"),
        ("65280121000101123", "身份证号出生日期无效：21000101 晚于今天"),
    ],
)
def test_bad_birth_dates(first17, expected):
    with pytest.raises(InvalidCode) as e:
        ids.validate_id_number(first17 + ids.id_check_char(first17))
    assert message(e) == expected


def test_birth_tomorrow_rejected_today_accepted():
    today = datetime.date(2024, 2, 29)
    ok = ids.make_id_number("652801", today, "001")
    assert ids.validate_id_number(ok, today=today) == ok
    tomorrow = ids.make_id_number("652801", datetime.date(2024, 3, 1), "001")
    with pytest.raises(InvalidCode, match="晚于今天"):
        ids.validate_id_number(tomorrow, today=today)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "身份证号不能为空"),
        ("110105491231002", "这是15位旧身份证号，请填写18位居民身份证号"),
        ("1101051949123100", "身份证号应为18位，实际为16位"),
        ("11010519491231002Y", "身份证号含非法字符“Y”：前17位应为数字，最后一位为数字或X"),
        ("1101051949123X002X", "身份证号含非法字符“X”：前17位应为数字，最后一位为数字或X"),
        ("110105194912310029", "身份证号校验位错误：应为 X，实际为 9"),
    ],
)
def test_bad_id_numbers(text, expected):
    with pytest.raises(InvalidCode) as e:
        ids.validate_id_number(text)
    assert message(e) == expected


@given(id_numbers(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_every_single_character_corruption_of_id_number_is_detected(number, pos, ch):
    assert ids.validate_id_number(number) == number
    if number[pos] == ch:
        return
    with pytest.raises(InvalidCode):
        ids.validate_id_number(number[:pos] + ch + number[pos + 1 :])


# --- phone -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13899912345", "13899912345"),
        ("138 9991 2345", "13899912345"),
        ("138-9991-2345", "13899912345"),
        ("+86 138 9991 2345", "13899912345"),
        ("１３８９９９１２３４５", "13899912345"),
        ("0996-2012345", "0996-2012345"),
        ("09962012345", "0996-2012345"),
        ("(0996)2012345", "0996-2012345"),
        ("010-12345678", "010-12345678"),
        ("01012345678", "010-12345678"),
        ("0996-2012345-801", "0996-2012345-801"),
    ],
)
def test_good_phones(text, expected):
    assert ids.validate_phone(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "电话号码不能为空"),
        ("1389991234", "手机号码应为11位，实际为10位"),
        (
            "12899912345",
            "电话号码格式不正确：应为11位手机号码，或带区号的固定电话（如 0996-1234567）",
        ),
        ("2012345", "电话号码格式不正确：应为11位手机号码，或带区号的固定电话（如 0996-1234567）"),
        ("abc", "电话号码格式不正确：应为11位手机号码，或带区号的固定电话（如 0996-1234567）"),
    ],
)
def test_bad_phones(text, expected):
    with pytest.raises(InvalidCode) as e:
        ids.validate_phone(text)
    assert message(e) == expected


@pytest.mark.parametrize("drop", [9, 12, 17])
def test_credit_code_with_a_character_dropped_or_doubled_is_refused(drop):
    # Caught when the region part (positions 3–8) is intact, the usual slip in a long code.
    code = ids.make_uscc("9", "1", "652801", "MA7ABCDE")
    short = code[:drop] + code[drop + 1 :]
    long = code[:drop] + code[drop] + code[drop:]
    for wrong in (short, long):
        with pytest.raises(InvalidCode) as exc:
            ids.classify_target_code(wrong)
        assert "统一社会信用代码应为18位" in exc.value.message


@pytest.mark.parametrize(
    "code", ["6901234567892", "2026-652801-47-01-000123", "CN20131234567", "新A12345挂"]
)
def test_non_market_codes_are_still_accepted(code):
    assert ids.classify_target_code(code) == ("other", code.upper())
