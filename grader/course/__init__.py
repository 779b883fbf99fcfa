"""Around grading, for the course: student releases and their recorded answers (release.py,
replay.py), the student package (distribution.py, student_cli.py, ci.py), exports and the
Gradescope autograder (export.py, gradescope.py), and the checks on the course's own material
(selfcheck.py, selftest.py, mutants.py)."""
