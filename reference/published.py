"""The course's published test vectors, as data, and how to reproduce them.

The course notebooks print expected outputs for fixed `np.linspace` inputs
(affine_forward, conv_forward_naive, TwoLayerNet, the update rules).  These
numbers are the strongest evidence that `reference/` implements the same
functions the course means, so they are kept once, here, and used by the
reference's own tests and by `grade selfcheck`.

# Note [Published precision]
The notebooks print arrays rounded to 8 decimals and losses to 10.  The
course's own test cells compare with `rel_error`, which for an entry near zero
(rmsprop's -0.02881884) is dominated by that rounding: the course's own solution
reports rel_error 9.5e-08 there.  So a vector is reproduced when every entry
agrees to the printed precision (|ours - published| <= half a unit in the last
printed decimal, plus 1e-12 for the float64 arithmetic itself), which is what
"exactly" can mean for rounded numbers; `rel_error` is reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class PublishedVector:
    """One published expectation: what to run, what the course printed, at what precision."""
    name: str
    source: str
    compute: Callable[[], dict[str, np.ndarray]]
    expected: dict[str, np.ndarray]
    decimals: int = 8

    @property
    def tolerance(self) -> float:
        """Largest deviation consistent with rounding; see Note [Published precision]."""
        return 0.5 * 10.0 ** (-self.decimals) + 1e-12


def _affine_forward() -> dict[str, np.ndarray]:
    from .cs231n.layers import affine_forward
    num_inputs, input_shape, output_dim = 2, (4, 5, 6), 3
    input_size = num_inputs * int(np.prod(input_shape))
    weight_size = output_dim * int(np.prod(input_shape))
    x = np.linspace(-0.1, 0.5, num=input_size).reshape(num_inputs, *input_shape)
    w = np.linspace(-0.2, 0.3, num=weight_size).reshape(int(np.prod(input_shape)), output_dim)
    b = np.linspace(-0.3, 0.1, num=output_dim)
    out, _ = affine_forward(x, w, b)
    return {"out": out}


def _conv_forward_naive() -> dict[str, np.ndarray]:
    from .cs231n.layers import conv_forward_naive
    x_shape, w_shape = (2, 3, 4, 4), (3, 3, 4, 4)
    x = np.linspace(-0.1, 0.5, num=int(np.prod(x_shape))).reshape(x_shape)
    w = np.linspace(-0.2, 0.3, num=int(np.prod(w_shape))).reshape(w_shape)
    b = np.linspace(-0.1, 0.2, num=3)
    out, _ = conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    return {"out": out}


def two_layer_net_linspace():
    """The course's TwoLayerNet check: (model, X, y) with N, D, H, C = 3, 5, 50, 7 and linspace params."""
    from .cs231n.classifiers.fc_net import TwoLayerNet
    N, D, H, C = 3, 5, 50, 7
    model = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=1e-3)
    model.params["W1"] = np.linspace(-0.7, 0.3, num=D * H).reshape(D, H)
    model.params["b1"] = np.linspace(-0.1, 0.9, num=H)
    model.params["W2"] = np.linspace(-0.3, 0.4, num=H * C).reshape(H, C)
    model.params["b2"] = np.linspace(-0.9, 0.1, num=C)
    X = np.linspace(-5.5, 4.5, num=N * D).reshape(D, N).T
    y = np.asarray([0, 5, 1])
    return model, X, y


def _two_layer_net_scores() -> dict[str, np.ndarray]:
    model, X, _ = two_layer_net_linspace()
    return {"scores": model.loss(X)}


def _two_layer_net_loss(reg: float) -> Callable[[], dict[str, np.ndarray]]:
    def compute() -> dict[str, np.ndarray]:
        model, X, y = two_layer_net_linspace()
        model.reg = reg
        loss, _ = model.loss(X, y)
        return {"loss": np.asarray(loss)}
    return compute


def _update_inputs():
    N, D = 4, 5
    w = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
    dw = np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)
    return N, D, w, dw


def _sgd_momentum() -> dict[str, np.ndarray]:
    from .cs231n.optim import sgd_momentum
    N, D, w, dw = _update_inputs()
    config = {"learning_rate": 1e-3, "velocity": np.linspace(0.6, 0.9, num=N * D).reshape(N, D)}
    next_w, config = sgd_momentum(w, dw, config=config)
    return {"next_w": next_w, "velocity": config["velocity"]}


def _rmsprop() -> dict[str, np.ndarray]:
    from .cs231n.optim import rmsprop
    N, D, w, dw = _update_inputs()
    config = {"learning_rate": 1e-2, "cache": np.linspace(0.6, 0.9, num=N * D).reshape(N, D)}
    next_w, config = rmsprop(w, dw, config=config)
    return {"next_w": next_w, "cache": config["cache"]}


def _adam() -> dict[str, np.ndarray]:
    from .cs231n.optim import adam
    N, D, w, dw = _update_inputs()
    config = {"learning_rate": 1e-2, "t": 5,
              "m": np.linspace(0.6, 0.9, num=N * D).reshape(N, D),
              "v": np.linspace(0.7, 0.5, num=N * D).reshape(N, D)}
    next_w, config = adam(w, dw, config=config)
    return {"next_w": next_w, "m": config["m"], "v": config["v"]}


_A = np.asarray

PUBLISHED: tuple[PublishedVector, ...] = (
    PublishedVector(
        "affine_forward", "FullyConnectedNets: affine layer forward", _affine_forward,
        # The seed export shows only the second row; the first row is the course's
        # standard value for the same linspace inputs.
        {"out": _A([[1.49834967, 1.70660132, 1.91485297],
                    [3.25553199, 3.5141327, 3.77273342]])}),
    PublishedVector(
        "conv_forward_naive", "ConvolutionalNetworks: naive forward, stride 2, pad 1",
        _conv_forward_naive,
        {"out": _A([[[[-0.08759809, -0.10987781], [-0.18387192, -0.2109216]],
                     [[0.21027089, 0.21661097], [0.22847626, 0.23004637]],
                     [[0.50813986, 0.54309974], [0.64082444, 0.67101435]]],
                    [[[-0.98053589, -1.03143541], [-1.19128892, -1.24695841]],
                     [[0.69108355, 0.66880383], [0.59480972, 0.56776003]],
                     [[2.36270298, 2.36904306], [2.38090835, 2.38247847]]]])}),
    PublishedVector(
        "TwoLayerNet.scores", "FullyConnectedNets: TwoLayerNet test-time forward",
        _two_layer_net_scores,
        {"scores": _A([[11.53165108, 12.2917344, 13.05181771, 13.81190102, 14.57198434,
                        15.33206765, 16.09215096],
                       [12.05769098, 12.74614105, 13.43459113, 14.1230412, 14.81149128,
                        15.49994135, 16.18839143],
                       [12.58373087, 13.20054771, 13.81736455, 14.43418138, 15.05099822,
                        15.66781506, 16.2846319]])}),
    PublishedVector(
        "TwoLayerNet.loss", "FullyConnectedNets: TwoLayerNet training loss, reg=0",
        _two_layer_net_loss(0.0), {"loss": _A(3.4702243556)}, decimals=10),
    PublishedVector(
        "TwoLayerNet.loss(reg=1)", "FullyConnectedNets: TwoLayerNet training loss, reg=1.0",
        _two_layer_net_loss(1.0), {"loss": _A(26.5948426952)}, decimals=10),
    PublishedVector(
        "sgd_momentum", "FullyConnectedNets: SGD+Momentum update", _sgd_momentum,
        {"next_w": _A([[0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789],
                       [0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526],
                       [0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263],
                       [1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096]]),
         "velocity": _A([[0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158],
                         [0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105],
                         [0.68217895, 0.69633684, 0.71049474, 0.72465263, 0.73881053],
                         [0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096]])}),
    PublishedVector(
        "rmsprop", "FullyConnectedNets: RMSProp update", _rmsprop,
        {"next_w": _A([[-0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247],
                       [-0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774],
                       [0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447],
                       [0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619]]),
         "cache": _A([[0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321],
                      [0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377],
                      [0.75037008, 0.7659518, 0.78158892, 0.79728144, 0.81302936],
                      [0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926]])}),
    PublishedVector(
        "adam", "FullyConnectedNets: Adam update (t=5, with bias correction)", _adam,
        {"next_w": _A([[-0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977],
                       [-0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929],
                       [0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969],
                       [0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459]]),
         "v": _A([[0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853],
                  [0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385],
                  [0.59414753, 0.58362676, 0.57311152, 0.56260183, 0.55209767],
                  [0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966]]),
         "m": _A([[0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474],
                  [0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316],
                  [0.67473684, 0.69421053, 0.71368421, 0.73315789, 0.75263158],
                  [0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85]])}),
)


@dataclass(frozen=True)
class Reproduction:
    """How closely the reference reproduced one published vector."""
    name: str
    max_abs_error: float
    rel_error: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_abs_error <= self.tolerance


def reproduce(vector: PublishedVector) -> Reproduction:
    """Run `vector.compute` and compare every output with what the course printed."""
    from .cs231n.gradient_check import rel_error
    got = vector.compute()
    max_abs, max_rel = 0.0, 0.0
    for key, expected in vector.expected.items():
        actual = np.asarray(got[key], dtype=np.float64)
        if actual.shape != expected.shape:
            raise ValueError(f"{vector.name}: {key} has shape {actual.shape}, "
                             f"published {expected.shape}")
        max_abs = max(max_abs, float(np.max(np.abs(actual - expected))))
        max_rel = max(max_rel, rel_error(actual, expected))
    return Reproduction(vector.name, max_abs, max_rel, vector.tolerance)
