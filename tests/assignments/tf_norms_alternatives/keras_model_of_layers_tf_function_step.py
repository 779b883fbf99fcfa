"""A correct tf_norms solution written differently (appended to the reference, so its
definitions win): NormalizedCNN as a tf.keras.Model of Keras layers (Conv2D, MaxPool2D,
Flatten, Dense), its gamma/beta and running statistics made with `add_weight`, a
`call(self, inputs, training=None)` whose None means test mode; weight norm applied to the
layers' kernels through tf.nn.conv2d / tf.matmul with one g per layer; `train` compiling its
step with @tf.function and drawing minibatches with tf.random.shuffle; `evaluate` in batches
with tf.argmax."""


class NormalizedCNN(tf.keras.Model):
    def __init__(self, input_shape=(28, 28, 1), num_classes=10, normalization=None, seed=0):
        super().__init__()
        tf.random.set_seed(seed)
        self.normalization = normalization
        init = tf.keras.initializers.GlorotUniform(seed=seed)
        self.convs = [tf.keras.layers.Conv2D(n, 3, padding="same", kernel_initializer=init) for n in (16, 32)]
        self.pool = tf.keras.layers.MaxPool2D(2, padding="same")
        self.flat = tf.keras.layers.Flatten()
        self.hidden = tf.keras.layers.Dense(64, kernel_initializer=init)
        self.scores = tf.keras.layers.Dense(num_classes, kernel_initializer=init)
        widths = (16, 32, 64)
        self.gammas = [self.add_weight(shape=(n,), initializer="ones", name=f"gamma{i}") for i, n in enumerate(widths)]
        self.betas = [self.add_weight(shape=(n,), initializer="zeros", name=f"beta{i}") for i, n in enumerate(widths)]
        self.means = [self.add_weight(shape=(n,), initializer="zeros", trainable=False, name=f"mean{i}")
                      for i, n in enumerate(widths)]
        self.variances = [self.add_weight(shape=(n,), initializer="ones", trainable=False, name=f"var{i}")
                          for i, n in enumerate(widths)]
        self.build_all(input_shape)
        if normalization == "weight":
            kernels = [layer.kernel for layer in self.convs + [self.hidden, self.scores]]
            self.gs = [self.add_weight(shape=(k.shape[-1],), name=f"g{i}",
                                       initializer=tf.keras.initializers.Constant(
                                           tf.norm(tf.reshape(k, [-1, k.shape[-1]]), axis=0).numpy()))
                       for i, k in enumerate(kernels)]

    def build_all(self, input_shape):
        x = tf.zeros((1,) + tuple(input_shape))
        for conv in self.convs:
            x = self.pool(conv(x))
        self.scores(self.hidden(self.flat(x)))

    def _affine(self, i, layer, x):
        if self.normalization != "weight":
            return layer(x)
        w = weight_norm(layer.kernel, self.gs[i])
        if len(w.shape) == 4:
            return tf.nn.bias_add(tf.nn.conv2d(x, w, strides=1, padding="SAME"), layer.bias)
        return tf.matmul(x, w) + layer.bias

    def _normalize(self, i, x, training):
        if self.normalization == "layer":
            return layer_norm(x, self.gammas[i], self.betas[i])
        if self.normalization != "batch":
            return x
        if training:
            axes = list(range(len(x.shape) - 1))
            mean = tf.reduce_mean(x, axis=axes)
            var = tf.reduce_mean(tf.square(x - mean), axis=axes)
            self.means[i].assign(0.9 * self.means[i] + 0.1 * mean)
            self.variances[i].assign(0.9 * self.variances[i] + 0.1 * var)
            return batch_norm(x, self.gammas[i], self.betas[i])
        return self.gammas[i] * (x - self.means[i]) / tf.sqrt(self.variances[i] + 1e-3) + self.betas[i]

    def call(self, inputs, training=None):
        x = tf.cast(inputs, tf.float32)
        for i, conv in enumerate(self.convs):
            x = self.pool(tf.nn.relu(self._normalize(i, self._affine(i, conv, x), training)))
        x = tf.nn.relu(self._normalize(2, self._affine(2, self.hidden, self.flat(x)), training))
        return self._affine(3, self.scores, x)


def train(model, x, y, steps=300, batch_size=64, learning_rate=1e-2, seed=0):
    optimizer = tf.keras.optimizers.Adam(learning_rate)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    x = tf.convert_to_tensor(x, tf.float32)
    y = tf.convert_to_tensor(y, tf.int64)
    n = x.shape[0]

    @tf.function
    def train_step(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    losses = []
    order = tf.random.shuffle(tf.range(n), seed=seed)
    start = 0
    for _ in range(steps):
        if start + batch_size > n:
            order, start = tf.random.shuffle(tf.range(n), seed=seed), 0
        idx = order[start:start + batch_size]
        start += batch_size
        losses.append(float(train_step(tf.gather(x, idx), tf.gather(y, idx))))
    return losses


def evaluate(model, x, y, batch_size=256):
    correct = 0
    for i in range(0, len(x), batch_size):
        predictions = tf.argmax(model(x[i:i + batch_size]), axis=1)
        correct += int(tf.reduce_sum(tf.cast(predictions == tf.cast(y[i:i + batch_size], tf.int64), tf.int32)))
    return correct / len(x)
