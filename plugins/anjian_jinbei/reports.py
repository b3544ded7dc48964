"""The street's budget: the cost table of one contract year as a report kind.

Parameters: the contract and its year (from 1). ``compute`` reads the core's cost table
(``context(tenant).service_cost_table``, which asks ``service_cost_shares`` for each
enterprise served in that year); ``xlsx`` lays it out as a form: title, period, one row
per enterprise (who pays what) and the totals the street budgets for.
"""

from marshmallow import Schema, fields, validate

from anjian.plugin_api import COST_HEADERS, ReportKind, context, cost_rows

REPORT_KIND = "jinbei_service_costs"
TITLE = "安全生产社会化服务费用分担表"


class CostReportParameters(Schema):
    contract_id = fields.Integer(required=True, validate=validate.Range(min=1),
                                 metadata={"description": "服务合同"})
    year = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100),
                          metadata={"description": "合同年度（从 1 起）"})


REPORT = ReportKind(
    key=REPORT_KIND, title=TITLE, formats=("xlsx", "json"), parameters=CostReportParameters,
    compute="anjian_jinbei.reports:compute", xlsx="anjian_jinbei.reports:xlsx",
    description="每家服务企业当年度由街道和企业各承担的服务费用，合计为街道预算")


def compute(tenant, params, snapshot_at) -> dict:
    contract, table = context(tenant).service_cost_table(params["contract_id"], params["year"])
    return {**table, "title": f"{contract.title} 费用分担表（第{params['year']}年度）"}


def xlsx(data, workbook) -> None:
    sheet = workbook.add_worksheet(f"第{data['contract_year']}年度")
    title = workbook.add_format({"bold": True, "font_size": 14, "align": "center"})
    head = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1,
                                "align": "center", "valign": "vcenter", "text_wrap": True})
    cell = workbook.add_format({"border": 1})
    money = workbook.add_format({"border": 1, "num_format": "#,##0.00"})
    total = workbook.add_format({"border": 1, "bold": True, "num_format": "#,##0.00"})
    last = len(COST_HEADERS) - 1
    sheet.merge_range(0, 0, 0, last, data["title"], title)
    sheet.merge_range(1, 0, 1, last,
                      f"服务期：{data['period_start']} 至 {data['period_end']}　"
                      f"中标单价：{data['price_per_enterprise'] or '未填'} 元/家·年", cell)
    for col, (label, width) in enumerate(COST_HEADERS):
        sheet.set_column(col, col, width)
        sheet.write_string(2, col, label, head)
    rows = list(cost_rows(data))
    for n, values in enumerate(rows, start=3):
        is_total = n == len(rows) + 2
        for col, value in enumerate(values):
            if value is None:
                sheet.write_blank(n, col, None, cell)
            elif isinstance(value, bool):
                sheet.write_string(n, col, "是" if value else "否", cell)
            elif isinstance(value, (int, float)):
                sheet.write_number(n, col, value, total if is_total else money if col >= 5 else cell)
            else:
                sheet.write_string(n, col, str(value), total if is_total else cell)
    sheet.freeze_panes(3, 0)
