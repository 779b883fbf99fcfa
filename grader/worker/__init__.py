"""The student side of the trust boundary (runtime.py, wire.py) and the judge's client for it
(client.py, warm.py), with what confines and places a worker: the sandbox (sandbox.py), worker
environments (envs.py) and devices (devices.py)."""
