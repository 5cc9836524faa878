import datetime

import pytest

from shuangsuiji.core import workdays
from shuangsuiji.core.models import CalendarDay, CalendarYear

D = datetime.date


@pytest.fixture
def calendar(db):
    workdays.seed_from_chinese_calendar(range(2024, 2027))


def test_seeded_years_come_from_the_package(calendar):
    assert set(CalendarYear.objects.values_list("year", flat=True)) == {2024, 2025, 2026}
    # 2026 National Day holiday on a weekday, and an adjusted working Sunday before it.
    assert CalendarDay.objects.get(date=D(2026, 10, 1)).kind == CalendarDay.Kind.HOLIDAY
    assert CalendarDay.objects.get(date=D(2026, 10, 1)).name == "国庆节"
    assert CalendarDay.objects.filter(kind=CalendarDay.Kind.WORKDAY, date__year=2026).exists()


def test_is_workday_follows_holidays_and_adjusted_weekends(calendar):
    assert workdays.is_workday(D(2026, 11, 26))  # a Thursday
    assert not workdays.is_workday(D(2026, 11, 28))  # a Saturday
    assert not workdays.is_workday(D(2026, 10, 1))  # National Day, a Thursday
    adjusted = CalendarDay.objects.filter(kind=CalendarDay.Kind.WORKDAY, date__year=2026).first()
    assert adjusted.date.weekday() >= 5 and workdays.is_workday(adjusted.date)


def test_start_day_is_not_counted(calendar):
    # Friday + 2 working days = Tuesday.
    assert workdays.add_workdays(D(2026, 11, 20), 2) == D(2026, 11, 24)
    assert workdays.add_workdays(D(2026, 11, 23), 1) == D(2026, 11, 24)
    assert workdays.add_workdays(D(2026, 11, 28), 0) == D(2026, 11, 30)


def test_twenty_working_days_skip_the_national_day_holiday(calendar):
    end = workdays.add_workdays(D(2026, 9, 25), 20)
    assert workdays.workdays_between(D(2026, 9, 25), end) == 20
    assert all(not workdays.is_workday(D(2026, 10, d)) for d in range(1, 8))
    assert end > D(2026, 10, 23)


def test_deadline_on_a_holiday_moves_to_the_next_working_day(calendar):
    # 30 calendar days from 2026-09-01 is 2026-10-01 (National Day) → first working day after it.
    deadline = workdays.deadline_after_days(D(2026, 9, 1), 30)
    assert deadline > D(2026, 10, 7) and workdays.is_workday(deadline)


def test_year_without_schedule_is_an_error_not_a_guess(calendar):
    with pytest.raises(workdays.NoScheduleError) as exc:
        workdays.add_workdays(D(2026, 12, 30), 5)
    assert exc.value.year == 2027
    assert "2027" in str(exc.value) and "节假日安排" in str(exc.value)
    with pytest.raises(workdays.NoScheduleError):
        workdays.is_workday(D(2027, 3, 1))


def test_administrator_schedule_for_a_new_year_is_used(calendar):
    CalendarYear.objects.create(year=2027, source="test")
    CalendarDay.objects.create(date=D(2027, 1, 1), kind=CalendarDay.Kind.HOLIDAY, name="元旦")
    assert not workdays.is_workday(D(2027, 1, 1))
    assert workdays.add_workdays(D(2026, 12, 31), 1) == D(2027, 1, 4)


def test_seeding_is_idempotent_and_keeps_edits(calendar):
    CalendarDay.objects.filter(date=D(2026, 10, 8)).delete()
    assert workdays.seed_from_chinese_calendar(range(2024, 2027)) == []
    assert not CalendarDay.objects.filter(date=D(2026, 10, 8)).exists()
