"""A submission, from the folder an instructor downloaded to a package the worker can import:
finding submissions (discover.py), staging one (stage.py), notebooks as one kind of source
(notebook.py, which_notebook.py, course_version.py)."""
