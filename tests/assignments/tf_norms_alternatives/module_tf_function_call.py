"""A correct tf_norms solution written differently (appended to the reference, so its
definitions win): the starter's NormalizedCNN(tf.Module) of plain tf.Variables whose __call__ is
compiled with @tf.function (traced once per value of its Python `training` flag, the running
statistics assigned inside the graph), built in float64 and cast at the input; weights drawn
with tf.random.stateless_normal; `train` an eager loop over np.random.permutation minibatches
with tf.nn.sparse_softmax_cross_entropy_with_logits and the module's trainable_variables;
`evaluate` with one tf.argmax over the whole set."""


class NormalizedCNN(tf.Module):
    def __init__(self, input_shape=(28, 28, 1), num_classes=10, normalization=None, seed=0):
        super().__init__()
        self.normalization = normalization
        h, w, c = input_shape
        flat = ((h + 1) // 2 + 1) // 2 * (((w + 1) // 2 + 1) // 2) * 32
        shapes = [(3, 3, c, 16), (3, 3, 16, 32), (flat, 64), (64, num_classes)]
        self.v = []
        for i, shape in enumerate(shapes):
            fan_in = int(np.prod(shape[:-1]))
            init = tf.random.stateless_normal(shape, seed=[seed, i], dtype=tf.float64) * np.sqrt(2.0 / fan_in)
            self.v.append(tf.Variable(init, name=f"v{i}"))
        self.b = [tf.Variable(tf.zeros(shape[-1], tf.float64), name=f"b{i}") for i, shape in enumerate(shapes)]
        self.g = [tf.Variable(tf.norm(tf.reshape(v, [-1, v.shape[-1]]), axis=0), name=f"g{i}") for i, v in enumerate(self.v)]
        widths = (16, 32, 64)
        self.gamma = [tf.Variable(tf.ones(n, tf.float64)) for n in widths]
        self.beta = [tf.Variable(tf.zeros(n, tf.float64)) for n in widths]
        self.run_mean = [tf.Variable(tf.zeros(n, tf.float64), trainable=False) for n in widths]
        self.run_var = [tf.Variable(tf.ones(n, tf.float64), trainable=False) for n in widths]

    def _kernel(self, i):
        return weight_norm(self.v[i], self.g[i]) if self.normalization == "weight" else self.v[i]

    def _norm(self, i, x, training):
        if self.normalization == "layer":
            return layer_norm(x, self.gamma[i], self.beta[i])
        if self.normalization != "batch":
            return x
        if not training:
            return self.gamma[i] * (x - self.run_mean[i]) / tf.sqrt(self.run_var[i] + 1e-3) + self.beta[i]
        axes = list(range(len(x.shape) - 1))
        mean = tf.reduce_mean(x, axes)
        self.run_mean[i].assign(0.9 * self.run_mean[i] + 0.1 * mean)
        self.run_var[i].assign(0.9 * self.run_var[i] + 0.1 * tf.reduce_mean(tf.square(x - mean), axes))
        return batch_norm(x, self.gamma[i], self.beta[i])

    @tf.function
    def __call__(self, x, training=False):
        x = tf.cast(x, tf.float64)
        for i in range(2):
            x = tf.nn.conv2d(x, self._kernel(i), 1, "SAME") + self.b[i]
            x = tf.nn.max_pool2d(tf.nn.relu(self._norm(i, x, training)), 2, 2, "SAME")
        x = tf.reshape(x, [tf.shape(x)[0], -1])
        x = tf.nn.relu(self._norm(2, x @ self._kernel(2) + self.b[2], training))
        return x @ self._kernel(3) + self.b[3]


def train(model, x, y, steps=300, batch_size=64, learning_rate=1e-2, seed=0):
    optimizer = tf.keras.optimizers.Adam(learning_rate=learning_rate)
    rng = np.random.RandomState(seed)
    order, start, losses = rng.permutation(len(x)), 0, []
    for _ in range(steps):
        if start + batch_size > len(x):
            order, start = rng.permutation(len(x)), 0
        idx = order[start:start + batch_size]
        start += batch_size
        with tf.GradientTape() as tape:
            scores = model(x[idx], training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y[idx], logits=scores))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        losses.append(loss.numpy())
    return losses


def evaluate(model, x, y):
    predictions = tf.argmax(model(x, training=False), axis=1).numpy()
    return float(np.mean(predictions == y))
