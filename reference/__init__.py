"""Trusted reference implementations that every check is judged against.

- `reference.cs231n`: numpy, with the cs231n contracts students know.
- `reference.torch_nets`: PyTorch networks, training loop and pruning.
- `reference.tf_nets`: TensorFlow 2 normalizations from basic ops and CNNs.
- `reference.datasets`: loaders for local data sets; nothing is downloaded.

Torch and TensorFlow are imported only inside their own subpackages, so
importing `reference` or `reference.cs231n` stays cheap.
"""
