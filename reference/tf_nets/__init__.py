"""TensorFlow 2 references: normalizations from basic ops and the course CNNs.

- `reference.tf_nets.norms`: batch, layer and weight normalization written with
  elementary ops (the IST597 assignment), differentiated by GradientTape.
- `reference.tf_nets.cnn`: a small CNN with a 'batch' / 'layer' / 'weight' / None
  normalization option, its GradientTape training loop and evaluation.
- `reference.tf_nets.convnets`: the cs231n TensorFlow notebook's three-layer
  ConvNet as barebones ops, a Keras subclass, a Sequential and a functional model.

This package imports nothing itself, so `import reference.tf_nets` does not load
TensorFlow; import the submodule you need.  TensorFlow places ops on a GPU
automatically when one is visible, so none of these modules names a device.
"""
