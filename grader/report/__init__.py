"""What people read, rendered from grader.result/1 documents alone: the student's HTML page
(html.py), the terminal table (terminal.py), what to fix first (fix_first.py), charts
(charts.py), the class dashboard (dashboard.py), text every UTF-8 writer accepts (text.py),
and files written whole or not at all (atomic.py)."""
