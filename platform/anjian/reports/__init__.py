"""Reports: files the platform generates for download (Excel exports, later PDF).

``jobs`` holds the report job kinds (queue ``reports``); every workbook is written
with ``anjian.xlsx`` (formula-injection safe).
"""
