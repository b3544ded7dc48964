"""An enterprise list file, opened: the tenant's profile, and the table the intake
engine finds in the file with each column's fate."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice

from anjian.context import Context
from anjian.enterprises.importing.profiles import enterprise_profile
from anjian.intake.cells import cell_text
from anjian.intake.errors import ImportFileError
from anjian.intake.files import open_file
from anjian.intake.profile import Profile
from anjian.intake.table import Table, describe_unmapped, locate


def open_list(context: Context, data: bytes, *, profile: str | None = None, sheet: str | None = None,
              mapping: Mapping[str, str] | None = None,
              areas: dict[str, int] | None = None) -> tuple[Profile, Table]:
    """The profile and the table found in the file (ImportFileError when there is none,
    or when no row follows its header)."""
    chosen = enterprise_profile(context, profile, areas)
    table = locate(open_file(data), chosen, sheet=sheet, mapping=mapping)
    if not any(any(cell_text(c) for c in cells)
               for cells in islice(table.grid.rows(), table.first_data_row - 1, None)):
        raise ImportFileError(f"文件中没有数据行（表头在第 {table.header_rows[-1]} 行）",
                              members={"plan": table.plan()})
    return chosen, table


def nothing_dropped(table: Table) -> None:
    """Before anything is written: a column the import would drop must have been named
    in the user's mapping (mapped or ignored); else ImportFileError with the plan, which
    lists each such column and the fields it may be."""
    if not table.unmapped:
        return
    raise ImportFileError(
        f"{describe_unmapped(table)}。导入前须说明如何处理：请在 mapping 中为每列指定字段，"
        f"或指定 \"ignore\" 忽略该列（可先试运行查看导入计划）",
        field="mapping", members={"plan": table.plan()})
