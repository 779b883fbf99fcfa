"""A class at once: grading a folder of submissions on local job processes (run.py) or a Dask
cluster (cluster.py), the job each of those processes runs (job.py), the gradebook
(gradebook.py), and similar-code pairs for people to read (similarity.py)."""
