"""The intake engine: lists as bureaus really send them, for every list the platform
imports (enterprises; the lists later domains add).

A list file (``files``: .xlsx, .xls, .ods, .csv in UTF-8, UTF-16 or GB18030) is a set of
sheets; ``table.locate`` finds the one holding a profile's table, its header row(s)
among titles, notes and merged cells, and maps each column to a field of the
``profile.Profile`` (labels, everyday names, the user's explicit mapping), announcing
the columns it cannot map; ``rows.Reading`` reads the rows below it once: blank and
total/note rows skipped and reported, cells read as people type them (``cells``), a
row with a bad cell rejected with its column and a Chinese reason, a key given twice
taken from its first valid row. What happens to the rows (compared with the stored
ones, written) is the owning domain's affair.
"""
