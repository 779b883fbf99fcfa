"""dl-grader: an autograder for deep-learning courses.

The judge (this package) never imports student code (Note [Trust boundary] in
grader/worker/client.py).  Its subpackages follow the pipeline: submission/ (find and
stage), worker/ (run student code), checks/ and scoring/ (check and score), report/
(render), and around them batch/ and course/; the README's "Map" says what each owns.
"""

__version__ = "0.1.0"
