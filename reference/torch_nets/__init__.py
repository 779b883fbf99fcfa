"""PyTorch reference for the course's PyTorch and Pruning notebooks.

The course teaches PyTorch at three levels of abstraction and then prunes the
trained network; every level gets its own trusted module here:

- `device`: CUDA when available, else CPU; the float32 training dtype.
- `data`: scikit-learn's digits (8x8, ships with the package) as tensors and
  seeded loaders, so training checks need no download.
- `barebones`: functional networks on raw tensors with a hand-written SGD loop.
- `modules`: the same networks as `nn.Module` classes and `nn.Sequential` builders.
- `training`: the optimizer-based training loop and accuracy.
- `pruning`: global magnitude pruning, structured filter pruning, sparsity report.

Nothing is imported here, so `import reference.torch_nets` stays cheap; import
the submodule you need.
"""
