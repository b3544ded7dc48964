"""Reports: files the platform generates for download (Excel exports, later PDF).

``xlsx`` holds the shared writer (formula-injection safe, constant memory);
``jobs`` the report job kinds (queue ``reports``).
"""
