import datetime as dt

import marshmallow as ma
from marshmallow import validate

from anjian.workdays.service import MAX_WORKDAYS, MAX_YEAR, MIN_YEAR

DATE_RANGE = validate.Range(min=dt.date(MIN_YEAR, 1, 1), max=dt.date(MAX_YEAR, 1, 1))


class CalendarYearSchema(ma.Schema):
    year = ma.fields.Integer()
    source = ma.fields.String(metadata={"description": "chinese_calendar（随软件包）或 admin（管理员发布）"})
    notice = ma.fields.String(metadata={"description": "国务院办公厅通知文号等"})
    updated_by = ma.fields.Integer(allow_none=True)
    updated_at = ma.fields.DateTime()


class CalendarEntrySchema(ma.Schema):
    date = ma.fields.Date(required=True)
    name = ma.fields.String(load_default="", validate=validate.Length(max=40))


class CalendarYearDetailSchema(CalendarYearSchema):
    holidays = ma.fields.List(ma.fields.Nested(CalendarEntrySchema),
                              metadata={"description": "放假的工作日（周一至周五）"})
    workdays = ma.fields.List(ma.fields.Nested(CalendarEntrySchema),
                              metadata={"description": "调休上班的周末"})


class CalendarPublishedSchema(CalendarYearDetailSchema):
    recomputed = ma.fields.Integer(metadata={"description": "随之重新计算的暂定期限数"})


class CalendarPublishSchema(ma.Schema):
    notice = ma.fields.String(load_default="", validate=validate.Length(max=200),
                              metadata={"description": "国务院办公厅通知文号，如 国办发明电〔2026〕X号"})
    holidays = ma.fields.List(ma.fields.Nested(CalendarEntrySchema), required=True,
                              metadata={"description": "放假日期中的周一至周五"})
    workdays = ma.fields.List(ma.fields.Nested(CalendarEntrySchema), load_default=list,
                              metadata={"description": "调休上班的周六、周日"})


class DeadlineQuerySchema(ma.Schema):
    start = ma.fields.Date(required=True, validate=DATE_RANGE, metadata={"description": "起算日（不计入）"})
    workdays = ma.fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_WORKDAYS),
                                 metadata={"description": "工作日数"})


class DeadlineSchema(ma.Schema):
    start = ma.fields.Date()
    workdays = ma.fields.Integer()
    deadline = ma.fields.Date()
    provisional = ma.fields.Boolean(metadata={"description": "涉及尚未发布放假安排的年份，按周一至周五暂定"})
    note = ma.fields.String(allow_none=True)
