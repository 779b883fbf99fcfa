# softmax_loss through an explicit log-sum-exp and a one-hot matrix; svm_loss
# vectorised with the count of positive margins.


def softmax_loss(x, y):
    N, C = x.shape
    m = np.max(x, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True))
    loss = np.mean(lse[:, 0] - x[np.arange(N), y])
    one_hot = np.eye(C)[y]
    dx = (np.exp(x - lse) - one_hot) / N
    return loss, dx


def svm_loss(x, y):
    N = x.shape[0]
    correct = x[np.arange(N), y]
    margins = np.maximum(0, x - correct[:, np.newaxis] + 1.0)
    margins[np.arange(N), y] = 0
    loss = np.sum(margins) / N
    num_pos = np.sum(margins > 0, axis=1)
    dx = np.zeros_like(x)
    dx[margins > 0] = 1
    dx[np.arange(N), y] -= num_pos
    dx /= N
    return loss, dx
