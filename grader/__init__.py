"""dl-grader: an autograder for deep-learning courses.

The judge (this package) never imports student code; see ARCHITECTURE notes in
`grader/worker.py` once the engine lands.
"""

__version__ = "0.1.0"
