"""Grading one submission: the assignment and its rubric (assignment.py), the pytest plugin that
runs its checks (plugin.py), the pipeline that strings the stages together (pipeline.py), and
the grader.result/1 document it produces (result.py)."""
