"""Write the intake corpus: enterprise lists as street offices and bureaus send them.

Run: .venv/bin/python tests/intake_corpus/make_corpus.py

Every file goes to tests/intake_corpus/files/. The content is literal (no randomness)
and the zip containers get fixed timestamps, so two runs write the same bytes. The
expected outcome of each file is written by hand in expected.toml, not computed here.
Credit codes: file NN uses n in NN*1000+1 .. (the base 91320581MA + n as 7 digits,
plus its check digit); a bad code is a valid one with its last character changed.
"""

# The rows below are tables of Chinese text, which ruff counts two columns a character.
# ruff: noqa: E501

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import xlsxwriter
import xlwt
from odf.opendocument import OpenDocumentSpreadsheet
from odf.style import Style, TableColumnProperties, TextProperties
from odf.table import CoveredTableCell, Table, TableCell, TableColumn, TableRow
from odf.text import P
from stdnum.cn import uscc

HERE = Path(__file__).resolve().parent
OUT = HERE / "files"
STAMP = (2024, 3, 5, 9, 0, 0)  # every zip entry's timestamp
CREATED = dt.datetime(2024, 3, 5, 9, 0, 0)


def code(n: int) -> str:
    """A valid unified social credit code (统一社会信用代码)."""
    base = f"91320581MA{n:07d}"
    return base + uscc.calc_check_digit(base)


def bad_code(n: int) -> str:
    """code(n) with a wrong check digit."""
    good = code(n)
    return good[:-1] + ("1" if good[-1] != "1" else "2")


def fullwidth(text: str) -> str:
    """ASCII letters and digits as their full-width forms (Ａ, １)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def renormalize_zip(path: Path) -> None:
    """Rewrite a zip container with fixed timestamps (same order, same compression)."""
    with zipfile.ZipFile(path) as src:
        entries = [(info, src.read(info.filename)) for info in src.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as dst:
        for info, data in entries:
            fixed = zipfile.ZipInfo(info.filename, STAMP)
            fixed.compress_type = info.compress_type
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, data)
    path.write_bytes(buffer.getvalue())


# ---------------------------------------------------------------- xlsx helpers


class Book:
    """An xlsxwriter workbook with the formats a clerk's list has."""

    def __init__(self, name: str):
        self.path = OUT / name
        self.wb = xlsxwriter.Workbook(str(self.path))
        self.wb.set_properties({"author": "安监办", "created": CREATED})
        self.title = self.wb.add_format({"bold": True, "font_size": 16, "align": "center",
                                         "valign": "vcenter"})
        self.left = self.wb.add_format({"align": "left", "valign": "vcenter"})
        self.head = self.wb.add_format({"bold": True, "border": 1, "align": "center",
                                        "valign": "vcenter", "text_wrap": True})
        self.cell = self.wb.add_format({"border": 1, "valign": "vcenter", "text_wrap": True})
        self.thousands = self.wb.add_format({"border": 1, "num_format": "#,##0"})

    def sheet(self, name: str, widths: dict[int, float] | None = None):
        ws = self.wb.add_worksheet(name)
        for col, width in (widths or {}).items():
            ws.set_column(col, col, width)
        return ws

    def row(self, ws, row: int, col: int, values, fmt=None) -> None:
        """Write values from (row, col), 1-based spreadsheet row and 0-based column.
        None leaves a cell empty, int/float write a NUMBER cell, str a text cell."""
        fmt = fmt or self.cell
        for offset, value in enumerate(values):
            c = col + offset
            if value is None:
                ws.write_blank(row - 1, c, None, fmt)
            elif isinstance(value, Num):
                ws.write_number(row - 1, c, value.value, self.thousands)
            elif isinstance(value, (int, float)):
                ws.write_number(row - 1, c, value, fmt)
            else:
                ws.write_string(row - 1, c, value, fmt)

    def merge(self, ws, first_row: int, first_col: int, last_row: int, last_col: int,
              value: str, fmt=None) -> None:
        """Merge a range (1-based rows, 0-based columns) holding value."""
        ws.merge_range(first_row - 1, first_col, last_row - 1, last_col, value, fmt or self.head)

    def close(self) -> None:
        self.wb.close()
        renormalize_zip(self.path)


class Num:
    """A number cell shown with a thousands separator (1,200 in Excel, 1200 stored)."""

    def __init__(self, value: float):
        self.value = value


def two_row_header(book: Book, ws, top: int, col: int, spec) -> None:
    """A two-row header from (top, col): spec items are a header text (merged over both
    rows) or (group, [sub, ...]) (group merged across its subs on the top row)."""
    for item in spec:
        if isinstance(item, str):
            book.merge(ws, top, col, top + 1, col, item)
            col += 1
        else:
            group, subs = item
            book.merge(ws, top, col, top, col + len(subs) - 1, group)
            for offset, sub in enumerate(subs):
                ws.write_string(top, col + offset, sub, book.head)
            col += len(subs)


# ---------------------------------------------------------------- 01


def file_01() -> None:
    """附件1 title, notes row, two-row merged header, a duplicate, a bad check digit,
    合计 and 填表人 rows (梅李镇)."""
    book = Book("01_附件标题_两行表头.xlsx")
    ws = book.sheet("企业名单", {0: 6, 1: 34, 2: 22, 3: 10, 4: 9, 5: 14, 6: 9, 7: 9, 8: 9,
                                 9: 12, 10: 34, 11: 9})
    last = 11  # columns A..L
    book.merge(ws, 1, 0, 1, last, "附件1：", book.left)
    book.merge(ws, 2, 0, 2, last, "梅李镇2024年度安全生产重点企业名单", book.title)
    book.merge(ws, 3, 0, 3, last, "填报单位：梅李镇安监办  填报日期：2024年3月5日", book.left)
    two_row_header(book, ws, 4, 0, [
        "序号", "单位名称", "统一社会信用代码", "行业类别",
        ("主要负责人", ["姓名", "联系电话"]),
        ("从业人员情况", ["从业人数", "安全管理人员数", "特种作业人员数"]),
        "所在镇（街道）", "生产经营地址", "企业规模",
    ])
    # seq, name, credit code, industry, principal, phone (NUMBER cell), employees,
    # safety managers, special workers, address, scale
    rows = [
        (1, "常熟市梅李宏达机械有限公司", code(1001), "机械", "张建国", 13862350101, 39, 2, 5,
         "常熟市梅李镇通港路18号", "小微"),
        (2, "常熟市梅李金凯纺织有限公司", code(1002), "纺织", "李卫东", 13962350102, 126, 3, 4,
         "常熟市梅李镇梅南路66号", "规上"),
        (3, "常熟市梅李恒丰建材有限公司", code(1003), "建材", "王志强", 13776350103, 45, 2, 6,
         "常熟市梅李镇聚沙路9号", "规下"),
        (4, "常熟市梅李新达化工有限公司", code(1004), "化工", "陈晓峰", 13862350104, 88, 4, 12,
         "常熟市梅李镇沿江工业区海丰路3号", "规上"),
        (5, "常熟市梅李永盛五金制品厂", code(1005), "机械", "周明华", 13915350105, 18, 1, 3,
         "常熟市梅李镇赵市村工业点", "小微"),
        (6, "常熟市梅李华通物流有限公司", code(1006), "仓储物流", "吴海燕", 13862350106, 32, 1, 8,
         "常熟市梅李镇珍门工业园2号", "小微"),
        (7, "常熟市梅李瑞祥食品有限公司", code(1007), "轻工", "徐国平", 13606350107, 76, 2, 2,
         "常熟市梅李镇梅北路128号", "规下"),
        (8, "常熟市梅李鑫源有色金属制品有限公司", code(1008), "有色", "孙立新", 13962350108, 54, 2, 7,
         "常熟市梅李镇通江路21号", "规下"),
        (9, "常熟市梅李天成精密机械有限公司", code(1009), "机械", "朱文斌", 13862350109, 210, 5, 16,
         "常熟市梅李镇胜法路7号", "规上"),
        (10, "常熟市梅李荣昌纺织印染有限公司", code(1010), "纺织", "马建华", 13773350110, 168, 4, 9,
         "常熟市梅李镇梅李大道99号", "规上"),
        (11, "常熟市梅李嘉禾家具有限公司", code(1011), "轻工", "胡雪梅", 13915350111, 27, 1, 3,
         "常熟市梅李镇新胜村", "小微"),
        # the same company as No. 4 listed again (row 17 repeats row 9's code)
        (12, "常熟市梅李新达化工有限公司", code(1004), "化工", "陈晓峰", 13862350104, 90, 4, 12,
         "常熟市梅李镇沿江工业区海丰路3号", "规上"),
        (13, "常熟市梅李安泰钢结构工程有限公司", code(1013), "建筑", "郭永红", 13862350113, 63, 3, 14,
         "常熟市梅李镇梅东路15号", "规下"),
        (14, "常熟市梅李博远塑胶制品有限公司", code(1014), "轻工", "何振宇", 13951350114, 41, 1, 4,
         "常熟市梅李镇通港路58号", "小微"),
        (15, "常熟市梅李金鼎冶金设备有限公司", code(1015), "冶金", "高秀英", 13862350115, 95, 3, 11,
         "常熟市梅李镇沿江工业区华联路6号", "规上"),
        # a mistyped code: wrong check digit (row 21)
        (16, "常熟市梅李顺发汽车运输有限公司", bad_code(1016), "交通运输", "林志刚", 13806350116, 36, 1, 20,
         "常熟市梅李镇聚沙村", "小微"),
        (17, "常熟市梅李富华酒店有限公司", code(1017), "住宿餐饮", "罗德明", 13962350117, 58, 2, 3,
         "常熟市梅李镇梅南路200号", "小微"),
        (18, "常熟市梅李联成商贸有限公司", code(1018), "商贸", "郑海林", 13862350118, 12, 1, 0,
         "常熟市梅李镇梅李大道16号", "小微"),
        (19, "常熟市梅李恒盛纸业有限公司", code(1019), "轻工", "梁春生", 13915350119, 73, 2, 5,
         "常熟市梅李镇赵市工业区", "规下"),
        (20, "常熟市梅李协和电器有限公司", code(1020), "其他", "谢卫平", 13862350120, 49, 2, 4,
         "常熟市梅李镇通江路88号", "规下"),
    ]
    for i, (seq, name, cc, industry, who, phone, emp, safety, special, address, scale) in enumerate(rows):
        book.row(ws, 6 + i, 0, [seq, name, cc, industry, who, phone, emp, safety, special,
                                "梅李镇", address, scale])
    # row 26: 合计 (A:B merged), the counts summed as the clerk did, no credit code
    book.merge(ws, 26, 0, 26, 1, "合计", book.head)
    book.row(ws, 26, 2, [None, None, None, None, None, None, None, None, None, None])
    for col, letter, index in [(6, "G", 6), (7, "H", 7), (8, "I", 8)]:  # =SUM() with its cached value
        ws.write_formula(25, col, f"=SUM({letter}6:{letter}25)", book.head, sum(r[index] for r in rows))
    # row 27 blank, row 28: the signature line
    book.merge(ws, 28, 0, 28, last, "填表人：张敏  审核人：李强  联系电话：0512-52401234", book.left)
    book.close()


# ---------------------------------------------------------------- 02


def file_02() -> None:
    """A first sheet 填表说明 (prose), the list on the second sheet starting at B4;
    decorated headers, counts with units and separators, stray spaces, a line break."""
    book = Book("02_填表说明_第二页名单.xlsx")
    notes = book.sheet("填表说明", {0: 90})
    for row, text in [
        (1, "填表说明"),
        (3, "一、本表由各村（社区）安全网格员填写，经街道安监办审核后报市应急管理局。"),
        (4, "二、“企业全称”须与营业执照一致，“信用代码”填写18位统一社会信用代码。"),
        (5, "三、员工数按上年末在册人数填写；经营状态填写在营、停产或关闭。"),
        (6, "四、请勿修改表格格式，填好后于3月20日前报送碧溪街道安监办。"),
    ]:
        notes.write_string(row - 1, 0, text)
    ws = book.sheet("企业名单", {0: 3, 1: 6, 2: 34, 3: 22, 4: 10, 5: 10, 6: 10, 7: 14, 8: 12,
                                 9: 10, 10: 34, 11: 10})
    # rows 1-3 blank, column A blank; the header at B4
    book.row(ws, 4, 1, ["序号", "企业全称*", "信用代码(必填)", "所属行业", "法定代表人", "联系人",
                        "手机号码", "员工数（人）", "所属区域", "经营地址", "经营状态"], book.head)
    # seq, name, code, industry, legal representative, contact, mobile, employees,
    # area, address, status
    rows = [
        (1, "常熟市碧溪新区宏业纺织有限公司", code(2001), "纺织", "周建新", "周丽", 13814920201, 86,
         "碧溪街道", "常熟市碧溪街道东张工业园8号", "在营"),
        (2, "常熟市碧溪\n机械制造有限公司", code(2002), "机械", " 钱玉兰 ", "钱玉兰", "13814920202", "39人",
         "碧溪街道", "常熟市碧溪街道碧溪东路12号", "在营"),
        (3, "常熟市碧溪华盛纺织集团有限公司", code(2003), "纺织", "沈国强", "陆敏", 13814920203, "1,200",
         "碧溪街道", "常熟市碧溪街道吴市工业区华盛路1号", "在营"),
        (4, "常熟市碧溪瑞丰化工有限公司", code(2004), "化工", "顾卫星", "顾晓燕", "13814920204", "１２０",
         "碧溪街道", "常熟市碧溪街道浒浦工业区3号", "在营"),
        (5, "常熟市碧溪东升金属制品有限公司", code(2005), "有色", "蒋志勇", "蒋志勇", 13814920205, 57,
         "碧溪街道", "常熟市碧溪街道李袁村", "停产"),
        (6, "常熟市碧溪恒通仓储有限公司", code(2006), "仓储物流", "陶建平", "许静", 13814920206, 22,
         "碧溪街道", "常熟市碧溪街道通港路188号", "在营"),
        (7, "常熟市碧溪佳味食品有限公司", code(2007), "轻工", "邹德华", "邹敏", "13814920207", 64,
         "碧溪街道", "常熟市碧溪街道碧溪中路45号", "在营"),
        None,  # row 12 left blank by the clerk
        (8, "常熟市碧溪鸿运物流有限公司", code(2008), "交通运输", "杨春华", "杨帆", 13814920208, 31,
         "碧溪街道", "常熟市碧溪街道东张村", "在营"),
        (9, "常熟市碧溪金诚建筑安装工程有限公司", code(2009), "建筑", "施永明", "施丽娟", 13814920209, 48,
         "碧溪街道", "常熟市碧溪街道碧溪西路6号", "在营"),
        (10, "常熟市碧溪新锐电子科技有限公司", code(2010), "其他", "黄晓东", "黄婷", 13814920210, 135,
         "碧溪街道", "常熟市碧溪街道新港路22号", "在营"),
        (11, "常熟市碧溪利民商贸有限公司", code(2011), "商贸", "严国华", "严芳", "13814920211", 9,
         "碧溪街道", "常熟市碧溪街道碧溪中路101号", "在营"),
        (12, "常熟市碧溪宏远铸造有限公司", code(2012), "冶金", "钱建华", "钱伟", 13814920212, 72,
         "碧溪街道", "常熟市碧溪街道吴市村", "停产"),
        (13, "常熟市碧溪天和酒店管理有限公司", code(2013), "住宿餐饮", "唐文军", "唐静", 13814920213, 45,
         "碧溪街道", "常熟市碧溪街道碧溪东路88号", "在营"),
        (14, "常熟市碧溪顺达机械配件厂", code(2014), "机械", "浦卫东", "浦红", 13814920214, 16,
         "碧溪街道", "常熟市碧溪街道浒浦村", "在营"),
        (15, "常熟市碧溪盛泰纺织品有限公司", code(2015), "纺织", "龚志华", "龚莉", 13814920215, 98,
         "碧溪街道", "常熟市碧溪街道东张工业园15号", "在营"),
    ]
    for i, values in enumerate(rows):
        if values is not None:
            book.row(ws, 5 + i, 1, list(values))
    # row 20 is the last data row; row 21 blank; a note and the signature line
    ws.write_string(21, 1, "注：本表所列企业均为辖区内工贸企业，停产企业复产前须报街道安监办验收。")
    ws.write_string(22, 1, "填表人：王丽  审核人：陈刚  联系电话：0512-52158866")
    book.close()


# ---------------------------------------------------------------- 03


def file_03() -> None:
    """Risk flags in every form (有/无, 是/否, √/×, Y/N with y/n, 涉及/不涉及), blank rows
    inside the table, a 备注 line at the bottom (古里镇)."""
    book = Book("03_风险标识_各种是否写法.xlsx")
    ws = book.sheet("重点企业", {0: 6, 1: 32, 2: 22, 3: 8, 4: 14, 5: 22, 13: 14})
    book.merge(ws, 1, 0, 1, 13, "古里镇粉尘涉爆、涉氨制冷、有限空间作业等重点企业清单", book.title)
    book.row(ws, 2, 0, ["序号", "企业名称", "统一社会信用代码", "行业", "主要产品", "主要风险因素",
                        "粉尘涉爆", "液氨制冷", "有限空间", "重大危险源", "劳动密集",
                        "所在镇（街道）", "联系人", "联系电话"], book.head)
    # name, n, industry, products, risks, dust 有/无, ammonia 是/否, confined √/×,
    # major hazard Y/N, labour intensive 涉及/不涉及, contact, phone (text)
    rows = [
        ("常熟市古里金泰木业有限公司", 3001, "轻工", "实木家具", "木粉尘爆炸、机械伤害",
         "有", "否", "×", "N", "不涉及", "沈红", "13913930301"),
        ("常熟市古里冰峰冷冻食品有限公司", 3002, "轻工", "速冻食品", "液氨泄漏、中毒窒息",
         "无", "是", "√", "Y", "涉及", "钱亮", "13913930302"),
        ("常熟市古里华达铝业有限公司", 3003, "有色", "铝型材", "铝粉尘爆炸、高温熔融金属",
         "有", "否", "√", "N", "不涉及", "孙伟", "13913930303"),
        ("常熟市古里兴盛污水处理有限公司", 3004, "其他", "污水处理", "有限空间中毒窒息",
         "无", "否", "√", "N", "不涉及", "李刚", "13913930304"),
        ("常熟市古里永新服装有限公司", 3005, "纺织", "服装", "火灾、人员密集",
         "无", "否", "×", "N", "涉及", "周敏", "13913930305"),
        ("常熟市古里恒泰化工有限公司", 3006, "化工", "涂料", "火灾爆炸、中毒",
         "无", "否", "√", "Y", "不涉及", "吴强", "13913930306"),
        None,  # row 9 blank
        ("常熟市古里鑫海粮油有限公司", 3007, "轻工", "大米、面粉", "粮食粉尘爆炸",
         "有", "否", "√", "N", "不涉及", "郑浩", "13913930307"),
        ("常熟市古里万兴冷链物流有限公司", 3008, "仓储物流", "冷藏仓储", "液氨泄漏",
         "无", "是", "×", "y", "不涉及", "王磊", "13913930308"),
        ("常熟市古里精工打磨有限公司", 3009, "机械", "金属抛光件", "金属粉尘爆炸",
         "有", "否", "×", "N", "不涉及", "冯涛", "13913930309"),
        ("常熟市古里锦绣纺织有限公司", 3010, "纺织", "棉纱", "棉尘火灾、机械伤害",
         "有", "否", "×", "N", "涉及", "陈静", "13913930310"),
        ("常熟市古里天润酿造有限公司", 3011, "轻工", "酱油、食醋", "有限空间中毒窒息",
         "无", "否", "√", "n", "不涉及", "褚明", "13913930311"),
        ("常熟市古里盛达纸制品有限公司", 3012, "轻工", "纸箱", "纸粉尘、火灾",
         "有", "否", "√", "N", "不涉及", "卫东", "13913930312"),
        None,  # rows 16 and 17 blank
        None,
        ("常熟市古里海鲜冷冻厂", 3013, "轻工", "冻品水产", "液氨泄漏",
         "无", "是", "√", "N", "不涉及", "蒋勇", "13913930313"),
        ("常熟市古里华联燃气有限公司", 3014, "商贸", "液化石油气", "火灾爆炸",
         "无", "否", "×", "Y", "不涉及", "沈杰", "13913930314"),
        ("常熟市古里金属表面处理有限公司", 3015, "机械", "电镀件", "中毒、灼烫",
         "无", "否", "√", "Y", "不涉及", "韩雪", "13913930315"),
        ("常熟市古里美家电子有限公司", 3016, "其他", "电子线束", "人员密集、火灾",
         "无", "否", "×", "N", "涉及", "杨帆", "13913930316"),
        ("常熟市古里建华建材有限公司", 3017, "建材", "商品混凝土", "机械伤害、车辆伤害",
         "无", "否", "√", "N", "不涉及", "朱峰", "13913930317"),
        ("常熟市古里丰源饲料有限公司", 3018, "轻工", "饲料", "粉尘爆炸",
         "有", "否", "√", "N", "涉及", "秦岭", "13913930318"),
    ]
    seq = 0
    for i, values in enumerate(rows):
        if values is None:
            continue
        seq += 1
        name, n, industry, products, risks, dust, ammonia, confined, major, labour, who, phone = values
        book.row(ws, 3 + i, 0, [seq, name, code(n), industry, products, risks, dust, ammonia,
                                confined, major, labour, "古里镇", who, phone])
    # rows 3..23 hold the table (last data row 23); row 24 blank; row 25 a note
    book.merge(ws, 25, 0, 25, 13, "备注：涉及有限空间作业的企业须另附作业点清单。", book.left)
    book.close()


# ---------------------------------------------------------------- 04


def file_04() -> None:
    """A list grouped by town: a 小计 row after each group (with "N家"), 总计 at the end."""
    book = Book("04_按镇分组_小计总计.xlsx")
    ws = book.sheet("汇总表", {0: 6, 1: 10, 2: 32, 3: 22, 4: 10, 5: 9, 6: 14, 7: 9, 8: 15})
    book.merge(ws, 1, 0, 1, 10, "常熟市2024年度工贸行业重点企业汇总表", book.title)
    book.row(ws, 2, 0, ["序号", "所属区域", "企业名称", "统一社会信用代码", "行业分类", "负责人",
                        "负责人电话", "联系人", "联系方式", "从业人数", "安全管理人员数"], book.head)
    groups = [
        ("梅李镇", [
            ("常熟市梅李振华机械有限公司", 4001, "机械", "刘振华", "13906240401", "刘晓", "0512-52150401", 66, 2),
            ("常熟市梅李东方纺织有限公司", 4002, "纺织", "钱东明", "13906240402", "钱芳", "0512-52150402", 142, 3),
            ("常熟市梅李华新建材有限公司", 4003, "建材", "陆华新", "13906240403", "陆敏华", "0512-52150403", 37, 1),
            ("常熟市梅李宏图包装有限公司", 4004, "轻工", "顾宏图", "13906240404", "顾倩", "0512-52150404", 28, 1),
            ("常熟市梅李汇丰化工有限公司", 4005, "化工", "吴国栋", "13906240405", "吴婷", "0512-52150405", 93, 4),
        ]),
        ("海虞镇", [
            ("常熟市海虞金龙纺织有限公司", 4006, "纺织", "金立明", "13906240406", "金燕", "0512-52160406", 118, 3),
            ("常熟市海虞远洋渔具有限公司", 4007, "轻工", "邵远航", "13906240407", "邵婷", "0512-52160407", 54, 2),
            ("常熟市海虞汇通物流有限公司", 4008, "仓储物流", "丁建伟", "13906240408", "丁宁", "0512-52160408", 26, 1),
            ("常熟市海虞宏盛铝业有限公司", 4009, "有色", "柏永生", "13906240409", "柏丽", "0512-52160409", 87, 3),
            ("常熟市海虞长江船舶修造有限公司", 4010, "机械", "瞿长江", "13906240410", "瞿燕", "0512-52160410", 160, 6),
        ]),
        ("古里镇", [
            ("常熟市古里佳禾米业有限公司", 4011, "轻工", "殷佳禾", "13906240411", "殷红", "0512-52170411", 22, 1),
            ("常熟市古里康博服饰有限公司", 4012, "纺织", "屈康博", "13906240412", "屈琳", "0512-52170412", 310, 5),
            ("常熟市古里恒昌钢管有限公司", 4013, "冶金", "归恒昌", "13906240413", "归敏", "0512-52170413", 75, 3),
            ("常熟市古里新世纪大酒店有限公司", 4014, "住宿餐饮", "冒新华", "13906240414", "冒静", "0512-52170414", 68, 2),
        ]),
        ("碧溪街道", [
            ("常熟市碧溪永和建筑工程有限公司", 4015, "建筑", "邵永和", "13906240415", "邵军", "0512-52180415", 81, 4),
            ("常熟市碧溪鼎力机械有限公司", 4016, "机械", "言鼎力", "13906240416", "言慧", "0512-52180416", 47, 2),
            ("常熟市碧溪华丰化纤有限公司", 4017, "纺织", "季华丰", "13906240417", "季萍", "0512-52180417", 205, 4),
            ("常熟市碧溪顺风快运有限公司", 4018, "交通运输", "徐顺风", "13906240418", "徐莉", "0512-52180418", 39, 1),
        ]),
    ]
    row, seq, grand_emp, grand_safety, grand_count = 3, 0, 0, 0, 0
    for area, members in groups:
        for name, n, industry, who, phone, contact, contact_phone, emp, safety in members:
            seq += 1
            book.row(ws, row, 0, [seq, area, name, code(n), industry, who, phone, contact,
                                  contact_phone, emp, safety])
            row += 1
        emp, safety = sum(m[7] for m in members), sum(m[8] for m in members)
        book.merge(ws, row, 0, row, 1, "小计", book.head)
        book.row(ws, row, 2, [f"{len(members)}家", None, None, None, None, None, None, emp, safety],
                 book.head)
        row += 1
        grand_emp, grand_safety, grand_count = grand_emp + emp, grand_safety + safety, grand_count + len(members)
    book.merge(ws, row, 0, row, 1, "总计", book.head)
    book.row(ws, row, 2, [f"{grand_count}家", None, None, None, None, None, None, grand_emp, grand_safety],
             book.head)
    book.close()


# ---------------------------------------------------------------- 05


def file_05() -> None:
    """Duplicates and invalid rows: a code twice (first valid), a code whose first row is
    invalid (很多 employees; then an empty name), a bad check digit, an unknown industry."""
    book = Book("05_重复与错误行.xlsx")
    ws = book.sheet("Sheet1", {0: 6, 1: 32, 2: 22, 3: 8, 4: 9, 5: 10, 6: 14, 7: 30, 8: 10})
    book.row(ws, 1, 0, ["序号", "企业名称", "统一社会信用代码", "行业", "从业人数", "主要负责人",
                        "负责人电话", "注册地址", "所属区域"], book.head)
    hy = "海虞镇"
    rows = [  # spreadsheet row 2 onwards
        ("常熟市海虞福达纺织有限公司", code(5001), "纺织", 112, "许国忠", "13771550501", "常熟市海虞镇福山工业区1号"),
        ("常熟市海虞宝华机械有限公司", code(5002), "机械", 46, "陆建明", "13771550502", "常熟市海虞镇周行工业区"),
        ("常熟市海虞金星五金厂", code(5003), "机械", 15, "季红兵", "13771550503", "常熟市海虞镇王市村"),
        ("常熟市海虞中南化纤有限公司", code(5004), "纺织", "很多", "卞志刚", "13771550504", "常熟市海虞镇海洋泾路5号"),
        ("常熟市海虞永达建材有限公司", code(5005), "建材", 38, "浦永达", "13771550505", "常熟市海虞镇北新闸村"),
        ("常熟市海虞恒顺汽车配件有限公司", code(5006), "机械", 77, "钟恒顺", "13771550506", "常熟市海虞镇福山路28号"),
        ("常熟市海虞中南化纤有限公司", code(5004), "纺织", 230, "卞志刚", "13771550504", "常熟市海虞镇海洋泾路5号"),
        ("常熟市海虞兴隆塑业有限公司", code(5008), "轻工", 29, "薛兴隆", "13771550508", "常熟市海虞镇汪桥村"),
        ("常熟市海虞天宇仓储有限公司", code(5009), "仓储物流", 18, "缪天宇", "13771550509", "常熟市海虞镇港区路3号"),
        ("常熟市海虞中南化纤有限公司", code(5004), "纺织", 230, "卞志刚", "13771550504", "常熟市海虞镇海洋泾路5号"),
        ("常熟市海虞新华印染有限公司", code(5011), "纺织", 150, "尤新华", "13771550511", "常熟市海虞镇周行工业区8号"),
        ("常熟市海虞福达纺织有限公司", code(5001), "纺织", 115, "许国忠", "13771550501", "常熟市海虞镇福山工业区1号"),
        ("常熟市海虞鼎盛钢构有限公司", code(5013), "建筑", 52, "戴鼎盛", "13771550513", "常熟市海虞镇七峰村"),
        ("常熟市海虞微创电子有限公司", code(5014), "电子", 66, "殷伟", "13771550514", "常熟市海虞镇海虞北路66号"),
        ("常熟市海虞利达运输有限公司", code(5015), "交通运输", 34, "曹利达", "13771550515", "常熟市海虞镇福山港"),
        ("常熟市海虞海丰水产冷冻有限公司", code(5016), "轻工", 25, "范海丰", "13771550516", "常熟市海虞镇铜官山村"),
        ("常熟市海虞明珠酒店有限公司", bad_code(5017), "住宿餐饮", 40, "孔明珠", "13771550517", "常熟市海虞镇海虞南路2号"),
        ("常熟市海虞顺昌铜业有限公司", code(5018), "有色", 61, "汤顺昌", "13771550518", "常熟市海虞镇王市工业区"),
        ("", code(5019), "商贸", 12, "许百川", "13771550519", "常熟市海虞镇海虞中路19号"),
        ("常熟市海虞百货商贸有限公司", code(5019), "商贸", 12, "许百川", "13771550519", "常熟市海虞镇海虞中路19号"),
    ]
    for i, (name, cc, industry, emp, who, phone, address) in enumerate(rows):
        book.row(ws, 2 + i, 0, [i + 1, name or None, cc, industry, emp, who, phone, address, hy])
    book.close()


# ---------------------------------------------------------------- 06


def file_06() -> None:
    """Two lists in one workbook (一季度, 二季度): the user names the sheet."""
    book = Book("06_两份名单_指定工作表.xlsx")
    header = ["序号", "企业名称", "统一社会信用代码", "行业类别", "企业负责人", "联系电话", "职工人数", "企业规模"]
    q1 = [
        ("常熟市海虞兴达纺织有限公司", 6001, "纺织", "瞿兴达", "13511360601", 80, "规下"),
        ("常熟市海虞万通机械有限公司", 6002, "机械", "周万通", "13511360602", 44, "小微"),
        ("常熟市海虞金穗食品有限公司", 6003, "轻工", "金穗华", "13511360603", 63, "规下"),
        ("常熟市海虞海润化工有限公司", 6004, "化工", "陈海润", "13511360604", 120, "规上"),
        ("常熟市海虞宏运物流有限公司", 6005, "仓储物流", "孙宏运", "13511360605", 25, "小微"),
        ("常熟市海虞华美服饰有限公司", 6006, "纺织", "华美玲", "13511360606", 210, "规上"),
        ("常熟市海虞永固建材有限公司", 6007, "建材", "钱永固", "13511360607", 33, "小微"),
        ("常熟市海虞宝利铜材有限公司", 6008, "有色", "蒋宝利", "13511360608", 57, "规下"),
        ("常熟市海虞新港码头有限公司", 6501, "交通运输", "顾新港", "13511360651", 48, "规下"),
        ("常熟市海虞福源酒家", 6502, "住宿餐饮", "李福源", "13511360652", 16, "小微"),
    ]
    q2 = [
        ("常熟市海虞兴达纺织有限公司", 6001, "纺织", "瞿兴达", "13511360601", 85, "规下"),
        ("常熟市海虞万通机械有限公司", 6002, "机械", "周万通", "13511360602", 44, "小微"),
        ("常熟市海虞金穗食品有限公司", 6003, "轻工", "金穗华", "13511360603", 66, "规下"),
        ("常熟市海虞海润化工有限公司", 6004, "化工", "陈海润", "13511360604", 118, "规上"),
        ("常熟市海虞宏运物流有限公司", 6005, "仓储物流", "孙宏运", "13511360605", 25, "小微"),
        ("常熟市海虞华美服饰有限公司", 6006, "纺织", "华美玲", "13511360606", 230, "规上"),
        ("常熟市海虞永固建材有限公司", 6007, "建材", "钱永固", "13511360607", 30, "小微"),
        ("常熟市海虞宝利铜材有限公司", 6008, "有色", "蒋宝利", "13511360608", 57, "规下"),
        ("常熟市海虞瑞达电力设备有限公司", 6011, "机械", "吴瑞达", "13511360611", 72, "规下"),
        ("常熟市海虞绿源环保科技有限公司", 6012, "其他", "沈绿源", "13511360612", 19, "小微"),
        ("常熟市海虞佳佳超市有限公司", 6013, "商贸", "陆佳", "13511360613", 35, "小微"),
        ("常熟市海虞精诚模具有限公司", 6014, "机械", "郁精诚", "13511360614", 41, "小微"),
    ]
    for sheet, title, rows, signature in [
        ("一季度名单", "海虞镇2024年一季度安全生产重点企业名单", q1, "制表人：顾佳  2024年4月2日"),
        ("二季度名单", "海虞镇2024年二季度安全生产重点企业名单", q2, "制表人：顾佳  2024年7月3日"),
    ]:
        ws = book.sheet(sheet, {0: 6, 1: 32, 2: 22, 3: 10, 4: 10, 5: 14, 6: 9, 7: 9})
        book.merge(ws, 1, 0, 1, 7, title, book.title)
        book.row(ws, 2, 0, header, book.head)
        for i, (name, n, industry, who, phone, emp, scale) in enumerate(rows):
            book.row(ws, 3 + i, 0, [i + 1, name, code(n), industry, who, phone, emp, scale])
        # one blank row after the table, then the signature line
        ws.write_string(3 + len(rows), 0, signature)
    book.close()


# ---------------------------------------------------------------- CSV


def write_csv(name: str, encoding: str, lines: list[list]) -> None:
    """A CSV as Excel saves it (CRLF, every line as wide as the table)."""
    width = max(len(line) for line in lines)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    for line in lines:
        writer.writerow([*("" if v is None else v for v in line), *[""] * (width - len(line))])
    (OUT / name).write_bytes(buffer.getvalue().encode(encoding))


def file_07() -> None:
    """A GB18030 CSV (Excel's "CSV" on a Chinese Windows) with a title line above the header,
    a blank line, 合计 and 填表人 lines (海虞镇)."""
    header = ["序号", "单位名称", "统一社会信用代码", "所属行业", "负责人", "联系人", "联系方式",
              "从业人员数", "所在镇（街道）", "注册地址"]
    rows = [
        ("常熟市海虞镕金有色金属有限公司", 7001, "有色", "王喆", "王丽华", "13306270701", 88, "常熟市海虞镇福山工业区12号"),
        ("常熟市海虞腾飞纺织有限公司", 7002, "纺织", "赵腾飞", "赵敏", "13306270702", 136, "常熟市海虞镇周行村"),
        ("常熟市海虞昌盛机械有限公司", 7003, "机械", "钱昌盛", "钱晓", "13306270703", 52, "常熟市海虞镇海洋泾路18号"),
        ("常熟市海虞堃元建材有限公司", 7004, "建材", "孙堃", "孙雯", "13306270704", 41, "常熟市海虞镇北新闸工业区"),
        ("常熟市海虞宏亮化工有限公司", 7005, "化工", "李宏亮", "李娜", "13306270705", 97, "常熟市海虞镇新材料产业园2号"),
        ("常熟市海虞利丰食品有限公司", 7006, "轻工", "周利丰", "周颖", "13306270706", 64, "常熟市海虞镇王市村"),
        ("常熟市海虞安达物流有限公司", 7007, "仓储物流", "吴安达", "吴倩", "13306270707", 23, "常熟市海虞镇港区路9号"),
        ("常熟市海虞永兴钢业有限公司", 7008, "冶金", "郑永兴", "郑洁", "13306270708", 145, "常熟市海虞镇七峰工业区"),
        ("常熟市海虞恒达建筑工程有限公司", 7009, "建筑", "冯恒达", "冯雪", "13306270709", 70, "常熟市海虞镇海虞南路30号"),
        ("常熟市海虞美味佳餐饮管理有限公司", 7010, "住宿餐饮", "陈美", "陈佳", "13306270710", 38, "常熟市海虞镇海虞中路8号"),
        ("常熟市海虞雅诗服饰有限公司", 7011, "纺织", "褚雅诗", "褚琳", "13306270711", 260, "常熟市海虞镇周行工业区22号"),
        ("常熟市海虞宏发运输有限公司", 7012, "交通运输", "卫宏发", "卫红", "13306270712", 30, "常熟市海虞镇福山港路"),
        ("常熟市海虞金福家具有限公司", 7013, "轻工", "蒋金福", "蒋芸", "13306270713", 47, "常熟市海虞镇汪桥工业区"),
        ("常熟市海虞联华超市有限公司", 7014, "商贸", "沈联华", "沈佳", "13306270714", 28, "常熟市海虞镇海虞北路1号"),
        ("常熟市海虞东方铝材有限公司", 7015, "有色", "韩东方", "韩梅", "13306270715", 66, "常熟市海虞镇王市工业区5号"),
        ("常熟市海虞旺达电器有限公司", 7016, "其他", "杨旺达", "杨柳", "13306270716", 59, "常熟市海虞镇铜官山村"),
        ("常熟市海虞精益机械有限公司", 7017, "机械", "朱精益", "朱红", "13306270717", 35, "常熟市海虞镇七峰村"),
        ("常熟市海虞华宇纺织有限公司", 7018, "纺织", "秦䶮", "秦丹", "13306270718", 112, "常熟市海虞镇周行工业区3号"),
    ]
    lines: list[list] = [["海虞镇2024年度安全生产重点企业名单"], header]
    for i, (name, n, industry, who, contact, phone, emp, address) in enumerate(rows):
        lines.append([i + 1, name, code(n), industry, who, contact, phone, emp, "海虞镇", address])
    lines.append([])  # line 21: blank
    lines.append(["合计", None, None, None, None, None, None, sum(r[6] for r in rows)])  # line 22
    lines.append(["填表人：周芳  审核人：钱江  联系电话：0512-52551234"])  # line 23
    write_csv("07_GB18030编码_标题行.csv", "gb18030", lines)


def file_08() -> None:
    """A UTF-8 CSV with a BOM (Excel's "CSV UTF-8"): scale, 限上, industry codes, status;
    a trailing empty line (碧溪街道 trade and services)."""
    header = ["统一社会信用代码", "企业名称", "行业", "行业代码", "企业规模", "是否限上", "从业人数",
              "安全管理人员数", "特种作业人员数", "经营状态", "所属区域", "地址"]
    rows = [
        (8001, "常熟市碧溪华润万家超市有限公司", "商贸", "F5212", "规上", "是", 86, 2, 3, "在营", "常熟市碧溪街道碧溪中路1号"),
        (8002, "常熟市碧溪百联购物中心有限公司", "商贸", "F5211", "规上", "是", 150, 4, 5, "在营", "常熟市碧溪街道新港路8号"),
        (8003, "常熟市碧溪通达汽车销售服务有限公司", "商贸", "F5261", "规下", "是", 45, 1, 6, "在营", "常熟市碧溪街道通港路66号"),
        (8004, "常熟市碧溪中石化加油站有限公司", "商贸", "F5265", "小微", "否", 12, 1, 2, "在营", "常熟市碧溪街道沿江公路旁"),
        (8005, "常熟市碧溪江城大酒店有限公司", "住宿餐饮", "H6110", "规上", "是", 120, 3, 4, "在营", "常熟市碧溪街道碧溪东路18号"),
        (8006, "常熟市碧溪老街饭店", "住宿餐饮", "H6210", "小微", "否", 18, 1, 0, "停产", "常熟市碧溪街道老街32号"),
        (8007, "常熟市碧溪顺通仓储服务有限公司", "仓储物流", "G5990", "规下", "否", 30, 1, 4, "在营", "常熟市碧溪街道浒浦工业区9号"),
        (8008, "常熟市碧溪恒运货运有限公司", "交通运输", "G5431", "小微", "否", 26, 1, 22, "在营", "常熟市碧溪街道吴市村"),
        (8009, "常熟市碧溪乐购便利店有限公司", "商贸", "F5212", "小微", "否", 8, 1, 0, "关闭", "常熟市碧溪街道碧溪西路3号"),
        (8010, "常熟市碧溪金鹰家居广场有限公司", "商贸", "F5283", "规下", "是", 62, 2, 2, "在营", "常熟市碧溪街道新港路120号"),
        (8011, "常熟市碧溪望江楼餐饮有限公司", "住宿餐饮", "H6210", "规下", "是", 40, 1, 0, "在营", "常熟市碧溪街道滨江路5号"),
        (8012, "常熟市碧溪汇丰冷链仓储有限公司", "仓储物流", "G5960", "规下", "否", 34, 2, 5, "在营", "常熟市碧溪街道浒浦工业区21号"),
    ]
    lines: list[list] = [header]
    for n, name, industry, icode, scale, quota, emp, safety, special, status, address in rows:
        lines.append([code(n), name, industry, icode, scale, quota, emp, safety, special, status, "碧溪街道", address])
    lines.append([])  # line 14: an empty line Excel left behind
    write_csv("08_UTF8带BOM.csv", "utf-8-sig", lines)


def file_09() -> None:
    """A UTF-8 CSV without BOM; the area given by its CODE; a 注 line at the bottom."""
    header = ["企业名称", "统一社会信用代码", "所属区域", "行业分类", "主要负责人", "负责人电话",
              "从业人数", "重大危险源", "有限空间"]
    rows = [
        ("常熟市古里新材料科技有限公司", 9001, "guli", "化工", "邹新民", "18912390901", 76, "是", "是"),
        ("常熟市海虞精细化工有限公司", 9002, "haiyu", "化工", "严建中", "18912390902", 133, "是", "是"),
        ("常熟市梅李液化气站", 9003, "meili", "商贸", "毛利民", "18912390903", 9, "是", "否"),
        ("常熟市碧溪污水处理厂有限公司", 9004, "bixi", "其他", "窦清华", "18912390904", 21, "否", "是"),
        ("常熟市古里氟化工有限公司", 9005, "guli", "化工", "章国强", "18912390905", 210, "是", "是"),
        ("常熟市海虞油脂有限公司", 9006, "haiyu", "轻工", "云海峰", "18912390906", 58, "否", "是"),
        ("常熟市梅李酿造厂", 9007, "meili", "轻工", "苏梅芳", "18912390907", 33, "否", "是"),
        ("常熟市碧溪港务有限公司", 9008, "bixi", "交通运输", "潘志刚", "18912390908", 95, "是", "否"),
        ("常熟市古里涂料有限公司", 9009, "guli", "化工", "葛文涛", "18912390909", 47, "是", "是"),
        ("常熟市海虞储运有限公司", 9010, "haiyu", "仓储物流", "范晓东", "18912390910", 40, "是", "否"),
    ]
    lines: list[list] = [header]
    for name, n, area, industry, who, phone, emp, major, confined in rows:
        lines.append([name, code(n), area, industry, who, phone, emp, major, confined])
    lines.append(["注：所属区域填写区域代码（meili 梅李镇、haiyu 海虞镇、guli 古里镇、bixi 碧溪街道）。"])  # line 12
    write_csv("09_UTF8无BOM_区域代码.csv", "utf-8", lines)


# ---------------------------------------------------------------- 10 (.xls)


def file_10() -> None:
    """A legacy .xls (Excel 97-2003): merged title, two-row merged header, 合计 and 注 rows."""
    path = OUT / "10_旧版Excel_两行表头.xls"
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("企业名单")
    title = xlwt.easyxf("font: bold on, height 320; align: horiz center, vert center")
    head = xlwt.easyxf("font: bold on; align: horiz center, vert center, wrap on; "
                       "borders: left thin, right thin, top thin, bottom thin")
    cell = xlwt.easyxf("borders: left thin, right thin, top thin, bottom thin")
    for col, width in {0: 6, 1: 32, 2: 22, 3: 10, 4: 9, 5: 10, 6: 14, 10: 12, 11: 9}.items():
        ws.col(col).width = 256 * width
    # xlwt rows and columns are 0-based: spreadsheet row 1 is 0
    ws.write_merge(0, 0, 0, 11, "海虞镇2023年度安全生产重点监管企业名单", title)
    col = 0
    for item in ["序号", "企业名称", "统一社会信用代码", "行业类别", "企业规模",
                 ("主要负责人", ["姓名", "手机号码"]),
                 ("从业人员情况", ["从业人数", "安全管理人员数", "特种作业人员数"]),
                 "所在镇（街道）", "经营状态"]:
        if isinstance(item, str):
            ws.write_merge(1, 2, col, col, item, head)
            col += 1
        else:
            group, subs = item
            ws.write_merge(1, 1, col, col + len(subs) - 1, group, head)
            for offset, sub in enumerate(subs):
                ws.write(2, col + offset, sub, head)
            col += len(subs)
    rows = [
        ("常熟市海虞鑫达纺织有限公司", 10001, "纺织", "规上", "陶鑫达", 13151100001, 156, 4, 6, "在营"),
        ("常熟市海虞大华机械有限公司", 10002, "机械", "规下", "戚大华", 13151100002, 62, 2, 8, "在营"),
        ("常熟市海虞三元化工有限公司", 10003, "化工", "规上", "谢三元", 13151100003, 104, 5, 15, "在营"),
        ("常熟市海虞恒信建材有限公司", 10004, "建材", "小微", "邹恒信", 13151100004, 28, 1, 4, "停产"),
        ("常熟市海虞光明食品有限公司", 10005, "轻工", "规下", "喻光明", 13151100005, 73, 2, 3, "在营"),
        ("常熟市海虞金海物流有限公司", 10006, "仓储物流", "小微", "柏金海", 13151100006, 19, 1, 6, "在营"),
        ("常熟市海虞华星铝业有限公司", 10007, "有色", "规下", "水华星", 13151100007, 88, 3, 9, "在营"),
        ("常熟市海虞中天钢结构有限公司", 10008, "建筑", "规下", "窦中天", 13151100008, 55, 2, 12, "在营"),
        ("常熟市海虞永丰印染有限公司", 10009, "纺织", "规上", "章永丰", 13151100009, 182, 4, 5, "在营"),
        ("常熟市海虞瑞祥宾馆有限公司", 10010, "住宿餐饮", "小微", "云瑞祥", 13151100010, 24, 1, 1, "在营"),
        ("常熟市海虞汇源冷藏有限公司", 10011, "仓储物流", "小微", "苏汇源", 13151100011, 17, 1, 2, "在营"),
        ("常熟市海虞精密铸造有限公司", 10012, "冶金", "规下", "潘静柱", 13151100012, 69, 2, 10, "在营"),
        ("常熟市海虞新天地商贸有限公司", 10013, "商贸", "小微", "葛天德", 13151100013, 11, 1, 0, "关闭"),
        ("常熟市海虞宏泰服装有限公司", 10014, "纺织", "规下", "奚宏泰", 13151100014, 97, 2, 2, "在营"),
    ]
    for i, (name, n, industry, scale, who, phone, emp, safety, special, status) in enumerate(rows):
        r = 3 + i  # spreadsheet rows 4..17
        for c, value in enumerate([i + 1, name, code(n), industry, scale, who, phone, emp, safety, special,
                                   "海虞镇", status]):
            ws.write(r, c, value, cell)
    r = 3 + len(rows)  # spreadsheet row 18
    ws.write_merge(r, r, 0, 1, "合计", head)
    ws.write(r, 7, sum(x[6] for x in rows), head)
    ws.write(r, 8, sum(x[7] for x in rows), head)
    ws.write(r, 9, sum(x[8] for x in rows), head)
    ws.write_merge(r + 1, r + 1, 0, 11, "注：本名单为2023年度复核结果，停产、关闭企业仍须列入。")  # row 19
    wb.save(str(path))


# ---------------------------------------------------------------- 11 (.ods)


def file_11() -> None:
    """An OpenDocument spreadsheet (WPS/LibreOffice "ods"): a title spanning the columns,
    √/× flags, number cells, 合计 and 填报人 rows."""
    path = OUT / "11_开放文档格式.ods"
    doc = OpenDocumentSpreadsheet()
    bold = Style(name="bold", family="table-cell")
    bold.addElement(TextProperties(fontweight="bold"))
    doc.automaticstyles.addElement(bold)
    wide = Style(name="wide", family="table-column")
    wide.addElement(TableColumnProperties(columnwidth="5cm"))
    doc.automaticstyles.addElement(wide)
    table = Table(name="名单")
    width = 11
    table.addElement(TableColumn(numbercolumnsrepeated=width, stylename=wide))

    def text_cell(value: str, **kwargs) -> TableCell:
        tc = TableCell(valuetype="string", **kwargs)
        tc.addElement(P(text=value))
        return tc

    def number_cell(value: float) -> TableCell:
        tc = TableCell(valuetype="float", value=value)
        tc.addElement(P(text=str(value)))
        return tc

    def add_row(values) -> None:
        tr = TableRow()
        for value in values:
            if value is None:
                tr.addElement(TableCell())
            elif isinstance(value, (int, float)):
                tr.addElement(number_cell(value))
            else:
                tr.addElement(text_cell(value))
        table.addElement(tr)

    # row 1: the title spanning the 11 columns
    tr = TableRow()
    tr.addElement(text_cell("碧溪街道2024年度粉尘涉爆企业名单", numbercolumnsspanned=width, stylename=bold))
    for _ in range(width - 1):
        tr.addElement(CoveredTableCell())
    table.addElement(tr)
    add_row(["序号", "企业名称", "统一社会信用代码", "行业", "粉尘涉爆", "有限空间", "从业人数",
             "主要负责人", "负责人电话", "所属区域", "地址"])  # row 2
    rows = [
        ("常熟市碧溪宏达木业有限公司", 11001, "轻工", "√", "×", 46, "吕宏达", 15962111001, "常熟市碧溪街道东张村"),
        ("常熟市碧溪金粮面粉有限公司", 11002, "轻工", "√", "√", 38, "施金粮", 15962111002, "常熟市碧溪街道吴市工业区"),
        ("常熟市碧溪亮光抛光有限公司", 11003, "机械", "√", "×", 22, "张亮光", "15962111003", "常熟市碧溪街道浒浦村"),
        ("常熟市碧溪铝材加工有限公司", 11004, "有色", "√", "×", 67, "孔令辉", 15962111004, "常熟市碧溪街道新港路40号"),
        ("常熟市碧溪绿园饲料有限公司", 11005, "轻工", "√", "√", 29, "曹绿园", 15962111005, "常熟市碧溪街道李袁村"),
        ("常熟市碧溪雅居家具有限公司", 11006, "轻工", "√", "×", 54, "严雅居", "15962111006", "常熟市碧溪街道碧溪西路60号"),
        ("常熟市碧溪精锐五金有限公司", 11007, "机械", "√", "×", 31, "华精锐", 15962111007, "常熟市碧溪街道东张工业园9号"),
        ("常熟市碧溪棉纺有限公司", 11008, "纺织", "√", "√", 140, "金勉", 15962111008, "常熟市碧溪街道吴市村"),
        ("常熟市碧溪镁合金制品有限公司", 11009, "有色", "√", "×", 43, "魏美华", 15962111009, "常熟市碧溪街道浒浦工业区"),
        ("常熟市碧溪纸业有限公司", 11010, "轻工", "×", "√", 58, "陶志明", 15962111010, "常熟市碧溪街道碧溪东路99号"),
    ]
    for i, (name, n, industry, dust, confined, emp, who, phone, address) in enumerate(rows):
        add_row([i + 1, name, code(n), industry, dust, confined, emp, who, phone, "碧溪街道", address])  # rows 3..12
    add_row(["合计", None, None, None, None, None, sum(r[5] for r in rows)])  # row 13
    add_row(["填报人：严芳  联系电话：0512-52181234"])  # row 14
    doc.spreadsheet.addElement(table)
    doc.save(str(path))
    renormalize_zip(path)


# ---------------------------------------------------------------- 12


def file_12() -> None:
    """Columns the platform cannot know (企业类型, 所属网格, 备注 with text)."""
    book = Book("12_含未知列.xlsx")
    ws = book.sheet("企业台账", {0: 6, 1: 32, 2: 22, 3: 14, 4: 16, 5: 8, 6: 9, 7: 9, 8: 14, 9: 10, 10: 24})
    book.row(ws, 1, 0, ["序号", "企业名称", "统一社会信用代码", "企业类型", "所属网格", "行业", "从业人数",
                        "联系人", "联系电话", "所属区域", "备注"], book.head)
    rows = [
        ("常熟市梅李兴业纺织有限公司", 12001, "有限责任公司", "梅李镇第1网格", "纺织", 95, "任兴业", "13584120001", "2023年新增"),
        ("常熟市梅李大成五金厂", 12002, "个人独资企业", "梅李镇第1网格", "机械", 14, "汪大成", "13584120002", ""),
        ("常熟市梅李华宝化工有限公司", 12003, "有限责任公司", "梅李镇第2网格", "化工", 78, "田华宝", "13584120003",
         "重点监管，每季度检查一次"),
        ("常熟市梅李新时代服饰有限公司", 12004, "有限责任公司", "梅李镇第2网格", "纺织", 186, "钟时代", "13584120004", ""),
        ("常熟市梅李恒力起重机械有限公司", 12005, "股份有限公司", "梅李镇第3网格", "机械", 132, "姜恒力", "13584120005",
         "已整改"),
        ("常熟市梅李金陵冷冻厂", 12006, "个人独资企业", "梅李镇第3网格", "轻工", 20, "邱金陵", "13584120006", "涉氨"),
        ("常熟市梅李开元建材有限公司", 12007, "有限责任公司", "梅李镇第4网格", "建材", 36, "孟开元", "13584120007", ""),
        ("常熟市梅李顺丰塑料制品厂", 12008, "个体工商户", "梅李镇第4网格", "轻工", 9, "潘顺丰", "13584120008", ""),
        ("常熟市梅李永安物流有限公司", 12009, "有限责任公司", "梅李镇第5网格", "仓储物流", 27, "贾永安", "13584120009",
         "2023年新增"),
        ("常熟市梅李东华铜业有限公司", 12010, "有限责任公司", "梅李镇第5网格", "有色", 64, "邬东华", "13584120010", ""),
        ("常熟市梅李鸿福酒楼", 12011, "个体工商户", "梅李镇第6网格", "住宿餐饮", 18, "滕鸿福", "13584120011", "燃气使用"),
        ("常熟市梅李精工阀门有限公司", 12012, "有限责任公司", "梅李镇第6网格", "机械", 51, "殷精工", "13584120012", ""),
    ]
    for i, (name, n, kind, grid, industry, emp, contact, phone, remark) in enumerate(rows):
        book.row(ws, 2 + i, 0, [i + 1, name, code(n), kind, grid, industry, emp, contact, phone, "梅李镇",
                                remark or None])
    book.close()


# ---------------------------------------------------------------- 13


def file_13() -> None:
    """A header close to a label but not one (企业名字): unmapped, with a suggestion."""
    book = Book("13_近似表头.xlsx")
    ws = book.sheet("Sheet1", {0: 32, 1: 22, 2: 10, 3: 8, 4: 9, 5: 14, 6: 10})
    book.row(ws, 1, 0, ["企业名字", "统一社会信用代码", "行业类别", "员工数", "联系人", "手机号码", "所属区域"],
             book.head)
    rows = [
        ("常熟市古里丰达机械有限公司", 13001, "机械", 48, "袁丰达", 15851330001, "古里镇"),
        ("常熟市古里海天纺织有限公司", 13002, "纺织", 122, "包海天", 15851330002, "古里镇"),
        ("常熟市古里宏伟建材有限公司", 13003, "建材", 33, "邓宏伟", 15851330003, "古里镇"),
        ("常熟市古里星辰化工有限公司", 13004, "化工", 69, "莫星辰", 15851330004, "古里镇"),
        ("常熟市古里华光灯饰有限公司", 13005, "其他", 25, "桑华光", 15851330005, "古里镇"),
        ("常熟市梅李远大纺机有限公司", 13006, "机械", 58, "阮远大", 15851330006, "梅李镇"),
        ("常熟市古里金帆服饰有限公司", 13007, "纺织", 240, "蓝金帆", 15851330007, "古里镇"),
        ("常熟市古里通利物流有限公司", 13008, "仓储物流", 21, "闵通利", 15851330008, "古里镇"),
        ("常熟市古里和顺食品有限公司", 13009, "轻工", 44, "席和顺", 15851330009, "古里镇"),
        ("常熟市古里长城铝业有限公司", 13010, "有色", 83, "季长城", 15851330010, "古里镇"),
    ]
    for i, (name, n, industry, emp, contact, phone, area) in enumerate(rows):
        book.row(ws, 2 + i, 0, [name, code(n), industry, emp, contact, phone, area])
    book.close()


# ---------------------------------------------------------------- 14


def file_14() -> None:
    """A re-submitted list: codes imported from 01 again (some changed, some not), the code
    that was mistyped in 01 now correct, two new enterprises."""
    book = Book("14_复核名单_重新导入.xlsx")
    ws = book.sheet("复核名单", {0: 6, 1: 34, 2: 22, 3: 9, 4: 9, 5: 9, 6: 10})
    book.merge(ws, 1, 0, 1, 6, "梅李镇重点企业名单（复核后）", book.title)
    book.row(ws, 2, 0, ["序号", "单位名称", "统一社会信用代码", "从业人数", "企业规模", "经营状态", "主要负责人"],
             book.head)
    rows = [
        ("常熟市梅李宏达机械有限公司", code(1001), 39, "小微", "在营", "张建国"),
        ("常熟市梅李金凯纺织有限公司", code(1002), 130, "规上", "在营", "李卫东"),
        ("常熟市梅李恒丰建材有限公司", code(1003), 45, "规下", "在营", "王志强"),
        ("常熟市梅李新达化工有限公司", code(1004), 88, "规上", "在营", "陈晓峰"),
        ("常熟市梅李永盛五金制品厂", code(1005), 18, "小微", "停产", "周明华"),
        ("常熟市梅李华通物流有限公司", code(1006), 32, "小微", "在营", "吴海燕"),
        ("常熟市梅李瑞祥食品有限公司", code(1007), 80, "规下", "在营", "徐国平"),
        ("常熟市梅李鑫源有色金属制品有限公司", code(1008), 54, "规上", "在营", "孙立新"),
        ("常熟市梅李天成精密机械有限公司", code(1009), 210, "规上", "在营", "朱文斌"),
        ("常熟市梅李荣昌纺织印染有限公司", code(1010), 168, "规上", "在营", "马建华"),
        ("常熟市梅李顺发汽车运输有限公司", code(1016), 36, "小微", "在营", "林志刚"),
        ("常熟市梅李利华包装材料有限公司", code(14001), 23, "小微", "在营", "葛利华"),
        ("常熟市梅李通达船舶配件有限公司", code(14002), 67, "规下", "在营", "沙通达"),
    ]
    for i, values in enumerate(rows):
        book.row(ws, 3 + i, 0, [i + 1, *values])  # rows 3..15
    ws.write_string(15, 0, "审核人：李强  2024年6月18日")  # row 16
    book.close()


# ---------------------------------------------------------------- 15


def file_15() -> None:
    """How cells are really written: full-width and spaced credit codes, 1.2万, a number
    formatted 1,200, full-width digits, 人 after a count, names with spaces and a line
    break, phones as NUMBER cells, a header with a line break."""
    book = Book("15_单元格写法.xlsx")
    ws = book.sheet("Sheet1", {0: 6, 1: 34, 2: 26, 3: 8, 4: 10, 5: 9, 6: 10, 7: 14, 8: 9, 9: 15, 10: 10})
    book.merge(ws, 1, 0, 1, 10, "海虞镇劳动密集型企业名单", book.title)
    book.row(ws, 2, 0, ["序号", "企业名称", "统一社会信用代码", "行业", "从业人数\n（人）", "劳动密集",
                        "主要负责人", "负责人电话", "联系人", "联系电话", "所属区域"], book.head)
    rows = [
        ("常熟市海虞雪峰服饰集团有限公司", code(15001), "纺织", "1.2万", "是", "高雪峰", 13862150001, "高敏",
         "0512-52811001"),
        ("常熟市海虞华美\n服饰有限公司", fullwidth(code(15002)), "纺织", Num(1200), "是", "华建明", 13862150002, "华丽娟",
         "0512-52811002"),
        (" 常熟市海虞锦程制衣有限公司 ", code(15003), "纺织", "２５６", "是", " 程锦 ", 13862150003, "程芳",
         "0512-52811003"),
        ("常熟市海虞天虹电子有限公司", code(15004)[:8] + "ＭＡ" + code(15004)[10:], "其他", "58人", "是", "洪天宇",
         "13862150004", "洪玲", "0512-52811004"),
        ("常熟市海虞童趣玩具有限公司", code(15005) + " ", "轻工", 340, "是", "童立新", 13862150005, "童佳",
         "0512-52811005"),
        ("常熟市海虞金鹿鞋业有限公司", code(15006), "轻工", 3000, "是", "陆鸣", 13862150006, "陆菲", "0512-52811006"),
        ("常熟市海虞宏达针织有限公司", code(15007), "纺织", "1,850", "是", "孙宏达", 13862150007, "孙丽",
         "0512-52811007"),
        ("常熟市海虞佳丽羽绒制品有限公司", code(15008), "纺织", "1,500人", "是", "李佳丽", 13862150008, "李敏",
         "0512-52811008"),
        ("常熟市海虞银河电线电缆有限公司", code(15009), "机械", 420, "否", "殷河", 13862150009, "殷雪",
         "0512-52811009"),
        ("常熟市海虞春晖毛纺有限公司", code(15010), "纺织", "６８０人", "是", "周春晖", 13862150010, "周燕",
         "0512-52811010"),
        ("常熟市海虞恒发箱包有限公司", code(15011), "轻工", 215, "是", "王恒发", 13862150011, "王芳", "0512-52811011"),
        ("常熟市海虞欧诗曼床上用品有限公司", code(15012), "纺织", 530, "是", "欧阳诗", 13862150012, "欧阳曼",
         "0512-52811012"),
    ]
    for i, (name, cc, industry, emp, labour, who, phone, contact, cphone) in enumerate(rows):
        book.row(ws, 3 + i, 0, [i + 1, name, cc, industry, emp, labour, who, phone, contact, cphone, "海虞镇"])
    # rows 3..14; row 15 合计: =SUM() adds only the NUMBER cells (as Excel does); row 16 signature
    book.merge(ws, 15, 0, 15, 1, "合计", book.head)
    book.row(ws, 15, 2, [None, None, None, None, None, None, None, None, None], book.head)
    numeric = sum(r[3].value if isinstance(r[3], Num) else r[3] for r in rows if isinstance(r[3], (int, Num)))
    ws.write_formula(14, 4, "=SUM(E3:E14)", book.head, numeric)
    book.merge(ws, 16, 0, 16, 10, "填表人：许莉  审核人：吴建  联系电话：0512-52810000", book.left)
    book.close()


# ---------------------------------------------------------------- 16


def file_16() -> None:
    """附件3 with a blank leading column and blank leading rows: a two-row header whose groups
    tell principal from contact (主要负责人 / 联系人 over 姓名 | 联系电话) and group the risk
    flags (风险类别 over 粉尘涉爆 | 液氨制冷 | 有限空间); a two-line 注 in one cell."""
    book = Book("16_左侧空列_分组表头.xlsx")
    ws = book.sheet("附件3", {0: 3, 1: 6, 2: 32, 3: 22, 4: 8, 5: 9, 6: 14, 7: 9, 8: 14, 9: 8, 10: 8, 11: 8,
                              12: 9, 13: 10})
    last = 13  # columns B..N
    ws.write_string(1, 1, "附件3：", book.left)  # B2 (row 1 blank)
    book.merge(ws, 3, 1, 3, last, "古里镇2024年度重点行业领域企业名单", book.title)  # row 3
    # row 4 blank; the two-row header in rows 5-6 from column B
    two_row_header(book, ws, 5, 1, [
        "序号", "企业名称", "统一社会信用代码", "行业",
        ("主要负责人", ["姓名", "联系电话"]),
        ("联系人", ["姓名", "联系电话"]),
        ("风险类别", ["粉尘涉爆", "液氨制冷", "有限空间"]),
        "从业人数", "所属区域",
    ])
    rows = [
        ("常熟市古里永昌木业有限公司", 16001, "轻工", "查永昌", 13771160001, "查娟", "0512-52661001", "有", "无", "无", 36),
        ("常熟市古里冰城冷冻厂", 16002, "轻工", "房冰城", 13771160002, "房敏", "0512-52661002", "无", "有", "有", 18),
        ("常熟市古里铝业有限公司", 16003, "有色", "裘立新", 13771160003, "裘红", "0512-52661003", "有", "无", "有", 92),
        ("常熟市古里淀粉有限公司", 16004, "轻工", "缪定国", 13771160004, "缪佳", "0512-52661004", "有", "无", "有", 47),
        ("常熟市古里食品冷藏有限公司", 16005, "仓储物流", "干立群", 13771160005, "干莉", "0512-52661005", "无", "有", "有", 25),
        ("常熟市古里金属抛光厂", 16006, "机械", "解光明", 13771160006, "解玲", "0512-52661006", "有", "无", "无", 12),
        ("常熟市古里酿酒有限公司", 16007, "轻工", "应九如", 13771160007, "应芳", "0512-52661007", "无", "无", "有", 55),
        ("常熟市古里纺织印染有限公司", 16008, "纺织", "宗寅", 13771160008, "宗丽", "0512-52661008", "无", "无", "有", 130),
        ("常熟市古里木制品加工厂", 16009, "轻工", "丁牧", 13771160009, "丁香", "0512-52661009", "有", "无", "无", 21),
        ("常熟市古里水产冷冻有限公司", 16010, "轻工", "宣水生", 13771160010, "宣敏", "0512-52661010", "无", "有", "有", 30),
        ("常熟市古里饲料加工有限公司", 16011, "轻工", "贲思源", 13771160011, "贲芳", "0512-52661011", "有", "无", "有", 40),
        ("常熟市古里污水处理有限公司", 16012, "其他", "邓淑芬", 13771160012, "邓婷", "0512-52661012", "无", "无", "有", 16),
    ]
    for i, (name, n, industry, who, phone, contact, cphone, dust, ammonia, confined, emp) in enumerate(rows):
        book.row(ws, 7 + i, 1, [i + 1, name, code(n), industry, who, phone, contact, cphone, dust, ammonia,
                                confined, emp, "古里镇"])  # rows 7..18
    # row 19 blank; row 20: a two-line note in one merged cell
    book.merge(ws, 20, 1, 20, last, "注：1. 风险类别按“有/无”填写；\n2. 本表一式两份，报古里镇安监办。", book.left)
    book.close()


# ---------------------------------------------------------------- refused files


def refused_files() -> None:
    """Files the platform must refuse, saying what to do instead."""
    # a Word document (a table pasted into Word)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        parts = {
            "[Content_Types].xml": (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                '<Override PartName="/word/document.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'),
            "_rels/.rels": (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                'relationships/officeDocument" Target="word/document.xml"/></Relationships>'),
            "word/document.xml": (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
                '<w:p><w:r><w:t>附件：企业名单</w:t></w:r></w:p><w:tbl>'
                '<w:tr><w:tc><w:p><w:r><w:t>企业名称</w:t></w:r></w:p></w:tc>'
                '<w:tc><w:p><w:r><w:t>统一社会信用代码</w:t></w:r></w:p></w:tc></w:tr>'
                f'<w:tr><w:tc><w:p><w:r><w:t>常熟市梅李示例机械有限公司</w:t></w:r></w:p></w:tc>'
                f'<w:tc><w:p><w:r><w:t>{code(90001)}</w:t></w:r></w:p></w:tc></w:tr>'
                '</w:tbl></w:body></w:document>'),
        }
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text.encode("utf-8"))
    (OUT / "90_企业名单.docx").write_bytes(buffer.getvalue())

    # a WPS spreadsheet (.et): an OLE compound file like .xls; fake body
    ole = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(16) + bytes.fromhex("3E000300FEFF0900")
    (OUT / "91_企业名单.et").write_bytes(ole + bytes(512 - len(ole)) + "WPS表格 企业名单".encode() + bytes(1024))

    # an Apple Numbers document: a zip of .iwa parts; fake body
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        for name, data in [("Index/Document.iwa", b"\x00\x1b\x00\x00fake-iwa-snappy-chunk"),
                           ("Metadata/Properties.plist", b"bplist00\xd0\x08\x00\x00\x00\x00\x00\x00\x01\x01"),
                           ("Metadata/DocumentIdentifier", b"5B0C1E2A-0000-4000-8000-000000000092")]:
            z.writestr(zipfile.ZipInfo(name, STAMP), data)
    (OUT / "92_企业名单.numbers").write_bytes(buffer.getvalue())

    # an .xlsx whose only sheet is prose (the notes were sent without the list)
    book = Book("93_只有填表说明.xlsx")
    ws = book.sheet("Sheet1", {0: 90})
    for row, text in [
        (1, "关于报送2024年度安全生产重点企业名单的通知"),
        (3, "各村（社区）："),
        (4, "请于3月20日前将辖区内重点企业名单（含企业名称、统一社会信用代码、从业人数、主要负责人及联系电话）"
            "报送镇安监办。"),
        (5, "名单请使用附件模板填写，不得修改表头。"),
        (7, "梅李镇安全生产委员会办公室"),
        (8, "2024年3月5日"),
    ]:
        ws.write_string(row - 1, 0, text)
    book.close()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        if old.is_file():
            old.unlink()
    for make in (file_01, file_02, file_03, file_04, file_05, file_06, file_07, file_08, file_09,
                 file_10, file_11, file_12, file_13, file_14, file_15, file_16, refused_files):
        make()
    for path in sorted(OUT.iterdir()):
        print(f"{path.stat().st_size:>7}  {path.relative_to(HERE)}")


if __name__ == "__main__":
    main()
