"""Importing the enterprise registry from .xlsx or .csv (UTF-8 or GB18030).

The flow: the upload is validated and stored (``anjian.storage``: type, size,
zip bomb, macros), its header row is checked at once (missing required columns
→ 422), then the ``enterprise_import`` job (``anjian.enterprises.jobs``) reads
every row, validates it with the registry's rules, and upserts by credit code.

Rules of a row:

* A column not in the file, or an empty cell, leaves the stored value as it is
  (a new enterprise gets the model default). An import never erases data.
* A credit code that appears more than once in the file: **every** row with
  it is rejected (the file is ambiguous; nothing of that code is written).
* A rejected row is not written; the other rows are. The result counts
  created / updated / unchanged / rejected, and a workbook of the rejected rows
  (row number, column, reason in Chinese) is stored for download.

The file is streamed (read twice, never held): see ``run.run_import``. Writes are
bulk statements (no ORM ``add_all``, no RETURNING; on PostgreSQL COPY into a
staging table, then one ``INSERT ... SELECT`` or ``UPDATE ... FROM``), in
batches of ``BATCH_SIZE`` rows, each batch compared with the stored rows of its
own codes (one lookup per batch) and committed with an audit row summarising it.
Upsert by credit code is idempotent, so a job killed mid-way and run again
leaves each row exactly once; the job's counts carry a checkpoint so a
re-delivered job skips batches already committed.
"""
