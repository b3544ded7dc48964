"""The intake's one error: a file that cannot be imported as a whole."""

from __future__ import annotations

from anjian.errors import Refused, UnsupportedType


class ImportFileError(Refused):
    """The file as a whole cannot be imported (message in Chinese): a Refused, or with
    ``status`` 415 an UnsupportedType (a file that cannot be read). ``members`` carries
    the plan so far (the table found, its columns) where there is one."""

    def __new__(cls, message: str, status: int = 422, **kwargs):
        if cls is ImportFileError and status == 415:
            cls = _UnreadableImport
        return super().__new__(cls, message, status)

    def __init__(self, message: str, status: int = 422, **kwargs):
        super().__init__(message, technical="ImportFileError", **kwargs)  # a failed job's second line
        self.status = status


class _UnreadableImport(ImportFileError, UnsupportedType):
    pass
