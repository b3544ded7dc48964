"""An enterprise list file, opened: the tenant's profile, and the table the intake
engine finds in the file with each column's fate."""

from __future__ import annotations

from collections.abc import Mapping

from anjian.context import Context
from anjian.enterprises.importing.profiles import enterprise_profile
from anjian.intake.profile import Profile
from anjian.intake.table import Table, open_table


def open_list(context: Context, data: bytes, *, profile: str | None = None, sheet: str | None = None,
              mapping: Mapping[str, str] | None = None,
              areas: dict[str, int] | None = None) -> tuple[Profile, Table]:
    """The profile and the table found in the file (ImportFileError when there is none,
    or when no row follows its header)."""
    chosen = enterprise_profile(context, profile, areas)
    return chosen, open_table(data, chosen, sheet=sheet, mapping=mapping)
