"""A correct tf_norms solution written differently (appended to the reference, so its
definitions win), in the lab's TensorFlow 2 / Keras 2 style: batch norm with the axes written
out per rank and a count-based mean, layer norm over the last axis (the Keras default), weight
norm as tf.sqrt(reduce_sum(v ** 2)); a `tf.keras.Model` (not a tf.Module) keeping its kernels,
g, gamma and beta as plain tf.Variables in lists, a Keras MaxPool2D layer, and its own eager
`train` over a tf.data pipeline taking `model.trainable_variables`.  Under Keras 3 that list is
empty, so this lab lost every training check before course/grader_tape.py Note [The
submission's train under Keras 3]."""


def batch_norm(x, gamma, beta, eps=1e-3):
    if len(x.shape) == 2:
        axes = [0]
    else:
        axes = [0, 1, 2]
    count = tf.cast(tf.reduce_prod(tf.gather(tf.shape(x), axes)), x.dtype)
    mu = tf.reduce_sum(x, axis=axes) / count
    var = tf.reduce_sum(tf.square(x - mu), axis=axes) / count
    x_hat = tf.divide(x - mu, tf.math.sqrt(var + eps))
    return gamma * x_hat + beta


def layer_norm(x, gamma, beta, eps=1e-3):
    mu = tf.reduce_mean(x, axis=-1, keepdims=True)
    var = tf.reduce_mean((x - mu) ** 2, axis=-1, keepdims=True)
    return gamma * (x - mu) / tf.sqrt(var + eps) + beta


def weight_norm(v, g):
    axes = list(range(len(v.shape) - 1))
    norm = tf.sqrt(tf.reduce_sum(v ** 2, axis=axes))
    return g * v / norm


class NormalizedCNN(tf.keras.Model):
    def __init__(self, input_shape=(28, 28, 1), num_classes=10, normalization=None, seed=0):
        super().__init__()
        tf.random.set_seed(seed)
        self.norm_type = normalization
        h, w, c = input_shape
        self.pool = tf.keras.layers.MaxPool2D(pool_size=2, strides=2, padding='same')
        init = tf.keras.initializers.HeNormal(seed=seed)
        self.kernels = []
        shapes = [(3, 3, c, 16), (3, 3, 16, 32)]
        h2, w2 = -(-(-(-h // 2)) // 2), -(-(-(-w // 2)) // 2)
        shapes += [(h2 * w2 * 32, 64), (64, num_classes)]
        for i, shape in enumerate(shapes):
            kernel = init(shape)
            if normalization == 'weight':
                v = tf.Variable(kernel, name=f'v{i}')
                g = tf.Variable(tf.norm(tf.reshape(kernel, (-1, shape[-1])), axis=0), name=f'g{i}')
                self.kernels.append((v, g))
            else:
                self.kernels.append(tf.Variable(kernel, name=f'w{i}'))
        self.biases = [tf.Variable(tf.zeros(shape[-1]), name=f'b{i}') for i, shape in enumerate(shapes)]
        self.gammas = [tf.Variable(tf.ones(n)) for n in (16, 32, 64)]
        self.betas = [tf.Variable(tf.zeros(n)) for n in (16, 32, 64)]
        self.run_mean = [tf.Variable(tf.zeros(n), trainable=False) for n in (16, 32, 64)]
        self.run_var = [tf.Variable(tf.ones(n), trainable=False) for n in (16, 32, 64)]

    def _kernel(self, i):
        if self.norm_type == 'weight':
            v, g = self.kernels[i]
            return weight_norm(v, g)
        return self.kernels[i]

    def _norm(self, x, i, training):
        if self.norm_type == 'layer':
            return layer_norm(x, self.gammas[i], self.betas[i])
        if self.norm_type == 'batch':
            axes = list(range(len(x.shape) - 1))
            if training:
                mean = tf.reduce_mean(x, axis=axes)
                var = tf.reduce_mean(tf.square(x - mean), axis=axes)
                self.run_mean[i].assign(0.9 * self.run_mean[i] + 0.1 * mean)
                self.run_var[i].assign(0.9 * self.run_var[i] + 0.1 * var)
                return batch_norm(x, self.gammas[i], self.betas[i])
            return self.gammas[i] * (x - self.run_mean[i]) / tf.sqrt(self.run_var[i] + 1e-3) + self.betas[i]
        return x

    def call(self, x, training=False):
        x = tf.cast(x, tf.float32)
        for i in range(2):
            x = tf.nn.conv2d(x, self._kernel(i), strides=[1, 1, 1, 1], padding='SAME') + self.biases[i]
            x = tf.nn.relu(self._norm(x, i, training))
            x = self.pool(x)
        x = tf.reshape(x, [tf.shape(x)[0], -1])
        x = tf.matmul(x, self._kernel(2)) + self.biases[2]
        x = tf.nn.relu(self._norm(x, 2, training))
        return tf.matmul(x, self._kernel(3)) + self.biases[3]


def train(model, x, y, steps=300, batch_size=64, learning_rate=1e-2, seed=0):
    optimizer = tf.keras.optimizers.Adam(learning_rate)
    dataset = tf.data.Dataset.from_tensor_slices((x.astype('float32'), y.astype('int64')))
    dataset = dataset.shuffle(len(x), seed=seed).repeat().batch(batch_size).take(steps)
    losses = []
    for xb, yb in dataset:
        with tf.GradientTape() as tape:
            logits = model(xb, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=logits))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        losses.append(float(loss))
    return losses


def evaluate(model, x, y):
    predictions = tf.argmax(model(x, training=False), axis=1)
    return float(tf.reduce_mean(tf.cast(predictions == y, tf.float32)))
