"""Dates ahead of today, for tests on the real clock (a fixed date passes into the past one day,
and the test with it); tests with a clock of their own keep their fixed dates."""

from __future__ import annotations

import datetime as dt

NEXT_YEAR = dt.date.today().year + 1
EXAM_DAY = dt.date(NEXT_YEAR, 3, 14)  # the CMM exam of the reminder examples, always ahead
