"""The holiday calendar (放假安排) and working-day deadlines over HTTP."""

from __future__ import annotations

from flask import g
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from anjian.api.blueprint import Blueprint
from anjian.api.policy import requires
from anjian.api.problems import problem
from anjian.extensions import db
from anjian.workdays import service
from anjian.workdays.models import CalendarDay, CalendarYear
from anjian.workdays.schemas import (
    CalendarPublishedSchema,
    CalendarPublishSchema,
    CalendarYearDetailSchema,
    CalendarYearSchema,
    DeadlineQuerySchema,
    DeadlineSchema,
)

blp = Blueprint("calendar", __name__, url_prefix="/api/v1/calendar",
                description="工作日日历：法定节假日与调休（国务院办公厅放假安排）")


def _detail(year: int) -> dict:
    row = db.session.get(CalendarYear, year)
    if row is None:
        problem(404, f"{year} 年放假安排尚未发布（期限按周一至周五暂定计算）",
                slug="calendar-year-not-published")
    days = db.session.scalars(
        select(CalendarDay).where(CalendarDay.year == year).order_by(CalendarDay.day)).all()
    return {
        "year": row.year, "source": row.source, "notice": row.notice,
        "updated_by": row.updated_by, "updated_at": row.updated_at,
        "holidays": [{"date": d.day, "name": d.name} for d in days if not d.is_workday],
        "workdays": [{"date": d.day, "name": d.name} for d in days if d.is_workday],
    }


@blp.route("")
@blp.response(200, CalendarYearSchema(many=True))
@requires("calendar.read")
def list_years():
    """已发布放假安排的年份（未列出的年份按周一至周五暂定计算）"""
    return db.session.scalars(select(CalendarYear).order_by(CalendarYear.year)).all()


@blp.route("/deadline")
@blp.arguments(DeadlineQuerySchema, location="query")
@blp.response(200, DeadlineSchema)
@requires("calendar.read")
def compute_deadline(args):
    """计算期限：起算日之后第 N 个工作日（起算日不计入；跳过法定节假日，计入调休上班日）"""
    start, workdays = args["start"], args["workdays"]
    calendar = service.current()
    deadline = calendar.add_workdays(start, workdays)
    note = None
    if deadline.provisional:
        note = service.unpublished_note(calendar.unpublished_years(start, deadline.date))
    return {"start": start, "workdays": workdays, "deadline": deadline.date,
            "provisional": deadline.provisional, "note": note}


@blp.route("/<int:year>")
@blp.response(200, CalendarYearDetailSchema)
@requires("calendar.read")
def get_year(year):
    """一年的放假日期与调休上班日期"""
    return _detail(year)


@blp.route("/<int:year>", methods=["PUT"])
@blp.arguments(CalendarPublishSchema)
@blp.response(200, CalendarPublishedSchema)
@requires("calendar.publish")
def publish_year(data, year):
    """发布或更正一年的放假安排（平台管理员）；涉及该年的暂定期限随之重新计算"""
    holidays = [(e["date"], e["name"]) for e in data["holidays"]]
    workdays = [(e["date"], e["name"]) for e in data["workdays"]]
    try:
        recomputed = service.publish_year(year, holidays, workdays, data["notice"], g.user)
        db.session.commit()
    except IntegrityError:  # another admin published the same year at the same moment
        db.session.rollback()
        problem(409, f"{year} 年放假安排正被他人同时修改，请刷新后重试")
    return {**_detail(year), "recomputed": recomputed}
