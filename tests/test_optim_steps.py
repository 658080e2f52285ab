"""Two optimizer steps on a two-element parameter, against values computed by hand.

These check the update formulas without torch (tests/test_optim.py compares
with torch.optim where torch is installed). Each setting takes two steps with
fixed gradients; the numbers are chosen so that every square root is exact and
every intermediate value a short binary or decimal fraction, and the expected
weights after each step are worked out in the comments. Each test exercises
the branch it names: with that branch broken, its expected values change.

Notation: w0 the initial weights, g1 and g2 the gradients of the two steps,
w1 and w2 the weights after them; products and squares are element-wise.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import minitorchless as mtl

RTOL = 1e-12  # the hand values are exact; only float rounding separates them from ours


def _check(
    make: Callable[[list[mtl.Parameter]], mtl.Optimizer],
    *,
    w0: list[float],
    grads: list[list[float]],
    expected: list[list[float]],
) -> None:
    """Step ``make([parameter])`` once per gradient and compare the weights after each step."""
    parameter = mtl.Parameter(np.array(w0, dtype=np.float64))
    optimizer = make([parameter])
    for step, (grad, weights) in enumerate(zip(grads, expected, strict=True), start=1):
        parameter.grad[...] = grad
        optimizer.step()
        np.testing.assert_allclose(
            parameter.value, weights, rtol=RTOL, err_msg=f"weights after step {step}"
        )


# ------------------------------------------------------------------------ SGD
# w0 = [1, -2], g1 = [0.5, 1], g2 = [-1, 0.25], lr = 0.5 in every SGD test
SGD_W0 = [1.0, -2.0]
SGD_GRADS = [[0.5, 1.0], [-1.0, 0.25]]


def test_sgd_plain() -> None:
    # w1 = w0 - 0.5*g1 = [1 - 0.25, -2 - 0.5] = [0.75, -2.5]
    # w2 = w1 - 0.5*g2 = [0.75 + 0.5, -2.5 - 0.125] = [1.25, -2.625]
    _check(
        lambda p: mtl.SGD(p, lr=0.5),
        w0=SGD_W0,
        grads=SGD_GRADS,
        expected=[[0.75, -2.5], [1.25, -2.625]],
    )


def test_sgd_momentum() -> None:
    # momentum 0.5; the buffer b starts as the first gradient
    # step 1: b1 = g1 = [0.5, 1];  w1 = w0 - 0.5*b1 = [0.75, -2.5]
    # step 2: b2 = 0.5*b1 + g2 = [0.25 - 1, 0.5 + 0.25] = [-0.75, 0.75]
    #         w2 = w1 - 0.5*b2 = [0.75 + 0.375, -2.5 - 0.375] = [1.125, -2.875]
    _check(
        lambda p: mtl.SGD(p, lr=0.5, momentum=0.5),
        w0=SGD_W0,
        grads=SGD_GRADS,
        expected=[[0.75, -2.5], [1.125, -2.875]],
    )


def test_sgd_nesterov() -> None:
    # momentum 0.5, Nesterov: the step is d = g + 0.5*b rather than b
    # step 1: b1 = g1 = [0.5, 1];  d1 = g1 + 0.5*b1 = [0.75, 1.5]
    #         w1 = w0 - 0.5*d1 = [1 - 0.375, -2 - 0.75] = [0.625, -2.75]
    # step 2: b2 = 0.5*b1 + g2 = [-0.75, 0.75];  d2 = g2 + 0.5*b2 = [-1.375, 0.625]
    #         w2 = w1 - 0.5*d2 = [0.625 + 0.6875, -2.75 - 0.3125] = [1.3125, -3.0625]
    _check(
        lambda p: mtl.SGD(p, lr=0.5, momentum=0.5, nesterov=True),
        w0=SGD_W0,
        grads=SGD_GRADS,
        expected=[[0.625, -2.75], [1.3125, -3.0625]],
    )


def test_sgd_weight_decay() -> None:
    # weight_decay 0.25: the step uses g + 0.25*w
    # step 1: g1 + 0.25*w0 = [0.5 + 0.25, 1 - 0.5] = [0.75, 0.5]
    #         w1 = w0 - 0.5*[0.75, 0.5] = [0.625, -2.25]
    # step 2: g2 + 0.25*w1 = [-1 + 0.15625, 0.25 - 0.5625] = [-0.84375, -0.3125]
    #         w2 = w1 - 0.5*[-0.84375, -0.3125] = [0.625 + 0.421875, -2.25 + 0.15625]
    #            = [1.046875, -2.09375]
    _check(
        lambda p: mtl.SGD(p, lr=0.5, weight_decay=0.25),
        w0=SGD_W0,
        grads=SGD_GRADS,
        expected=[[0.625, -2.25], [1.046875, -2.09375]],
    )


# ----------------------------------------------------------------------- Adam
# w = w - lr/(1 - b1^t) * m / (sqrt(v)/sqrt(1 - b2^t) + eps), with m and v the moving
# averages of g and g^2. With b1 = 0.5 and lr = 0.75 the step sizes lr/(1 - b1^t) are
# 0.75/0.5 = 1.5 and 0.75/0.75 = 1; with b2 = 0.75, 1 - b2 = 0.25 and 1 - b2^2 = 0.4375.
ADAM = {"lr": 0.75, "betas": (0.5, 0.75), "eps": 0.125}
ADAM_W0 = [1.0, -1.0]
ADAM_GRADS = [[1.125, -0.5], [0.625, 0.5]]
# step 1: m1 = 0.5*g1 = [0.5625, -0.25];  v1 = 0.25*g1^2 = [0.31640625, 0.0625]
#         sqrt(v1/0.25) = |g1| = [1.125, 0.5]
#         u1 = 1.5*m1/([1.125, 0.5] + 0.125) = [0.84375/1.25, -0.375/0.625] = [0.675, -0.6]
# step 2: m2 = 0.5*m1 + 0.5*g2 = [0.28125 + 0.3125, -0.125 + 0.25] = [0.59375, 0.125]
#         v2 = 0.75*v1 + 0.25*g2^2 = [0.2373046875 + 0.09765625, 0.046875 + 0.0625]
#            = [0.3349609375, 0.109375]
#         sqrt(v2/0.4375) = sqrt([0.765625, 0.25]) = [0.875, 0.5]
#         u2 = 1*m2/([0.875, 0.5] + 0.125) = [0.59375/1, 0.125/0.625] = [0.59375, 0.2]


def test_adam() -> None:
    # w1 = w0 - u1 = [1 - 0.675, -1 + 0.6] = [0.325, -0.4]
    # w2 = w1 - u2 = [0.325 - 0.59375, -0.4 - 0.2] = [-0.26875, -0.6]
    _check(
        lambda p: mtl.Adam(p, **ADAM),
        w0=ADAM_W0,
        grads=ADAM_GRADS,
        expected=[[0.325, -0.4], [-0.26875, -0.6]],
    )


def test_adam_weight_decay_is_added_to_the_gradient() -> None:
    # weight_decay 0.5, gradients chosen so that g + 0.5*w are the gradients above
    # step 1: g1 + 0.5*w0 = [0.625 + 0.5, 0 - 0.5] = [1.125, -0.5], so w1 = [0.325, -0.4]
    # step 2: g2 + 0.5*w1 = [0.4625 + 0.1625, 0.7 - 0.2] = [0.625, 0.5], so w2 = [-0.26875, -0.6]
    # (without the decay the second weight's first gradient, 0, would not move it)
    _check(
        lambda p: mtl.Adam(p, weight_decay=0.5, **ADAM),
        w0=ADAM_W0,
        grads=[[0.625, 0.0], [0.4625, 0.7]],
        expected=[[0.325, -0.4], [-0.26875, -0.6]],
    )


def test_adamw_shrinks_the_weights_before_the_adam_step() -> None:
    # weight_decay 0.5: each step first multiplies w by 1 - lr*wd = 1 - 0.375 = 0.625,
    # then subtracts the Adam update, which depends on the gradients only (u1, u2 above)
    # w1 = 0.625*w0 - u1 = [0.625 - 0.675, -0.625 + 0.6] = [-0.05, -0.025]
    # w2 = 0.625*w1 - u2 = [-0.03125 - 0.59375, -0.015625 - 0.2] = [-0.625, -0.215625]
    _check(
        lambda p: mtl.AdamW(p, weight_decay=0.5, **ADAM),
        w0=ADAM_W0,
        grads=ADAM_GRADS,
        expected=[[-0.05, -0.025], [-0.625, -0.215625]],
    )


def test_adam_amsgrad_divides_by_the_largest_second_moment() -> None:
    # b2 = 0.5625: 1 - b2 = 0.4375 and 1 - b2^2 = 0.68359375; b1, lr as above, eps 0.25.
    # The first weight's second moment falls at step 2 (v1 is kept), the second's rises.
    # step 1: m1 = 0.5*g1 = [0.625, 0.5];  v1 = 0.4375*g1^2 = [0.68359375, 0.4375]
    #         max1 = v1;  sqrt(max1/0.4375) = |g1| = [1.25, 1]
    #         w1 = w0 - 1.5*m1/([1.25, 1] + 0.25) = [0.5 - 0.9375/1.5, 2 - 0.75/1.25]
    #            = [0.5 - 0.625, 2 - 0.6] = [-0.125, 1.4]
    # step 2: m2 = 0.5*m1 + 0.5*g2 = [0.3125 + 0.125, 0.25 - 0.5] = [0.4375, -0.25]
    #         v2 = 0.5625*v1 + 0.4375*g2^2 = [0.384521484375 + 0.02734375, 0.24609375 + 0.4375]
    #            = [0.411865234375, 0.68359375]
    #         max2 = max(max1, v2) = [0.68359375 (from v1), 0.68359375 (from v2)]
    #         sqrt(max2/0.68359375) = [1, 1]
    #         w2 = w1 - 1*m2/([1, 1] + 0.25) = [-0.125 - 0.35, 1.4 + 0.2] = [-0.475, 1.6]
    _check(
        lambda p: mtl.Adam(p, lr=0.75, betas=(0.5, 0.5625), eps=0.25, amsgrad=True),
        w0=[0.5, 2.0],
        grads=[[1.25, 1.0], [0.25, -1.0]],
        expected=[[-0.125, 1.4], [-0.475, 1.6]],
    )


# -------------------------------------------------------------------- RMSprop
# v = alpha*v + (1 - alpha)*g^2;  w = w - lr*g/(sqrt(v) + eps)
RMSPROP = {"lr": 0.5, "alpha": 0.75, "eps": 0.125}
RMSPROP_W0 = [1.0, -1.0]
RMSPROP_GRADS = [[0.75, 0.25], [-1.625, 0.125]]
# step 1: v1 = 0.25*g1^2 = [0.140625, 0.015625];  sqrt(v1) = [0.375, 0.125]
#         s1 = g1/(sqrt(v1) + 0.125) = [0.75/0.5, 0.25/0.25] = [1.5, 1]
# step 2: v2 = 0.75*v1 + 0.25*g2^2 = [0.10546875 + 0.66015625, 0.01171875 + 0.00390625]
#            = [0.765625, 0.015625];  sqrt(v2) = [0.875, 0.125]
#         s2 = g2/(sqrt(v2) + 0.125) = [-1.625/1, 0.125/0.25] = [-1.625, 0.5]


def test_rmsprop() -> None:
    # w1 = w0 - 0.5*s1 = [1 - 0.75, -1 - 0.5] = [0.25, -1.5]
    # w2 = w1 - 0.5*s2 = [0.25 + 0.8125, -1.5 - 0.25] = [1.0625, -1.75]
    _check(
        lambda p: mtl.RMSprop(p, **RMSPROP),
        w0=RMSPROP_W0,
        grads=RMSPROP_GRADS,
        expected=[[0.25, -1.5], [1.0625, -1.75]],
    )


def test_rmsprop_momentum() -> None:
    # momentum 0.5: b = 0.5*b + s (from zero), w = w - lr*b; s1, s2 as above
    # step 1: b1 = s1 = [1.5, 1];  w1 = w0 - 0.5*b1 = [0.25, -1.5]
    # step 2: b2 = 0.5*b1 + s2 = [0.75 - 1.625, 0.5 + 0.5] = [-0.875, 1]
    #         w2 = w1 - 0.5*b2 = [0.25 + 0.4375, -1.5 - 0.5] = [0.6875, -2]
    _check(
        lambda p: mtl.RMSprop(p, momentum=0.5, **RMSPROP),
        w0=RMSPROP_W0,
        grads=RMSPROP_GRADS,
        expected=[[0.25, -1.5], [0.6875, -2.0]],
    )


def test_rmsprop_weight_decay_is_added_to_the_gradient() -> None:
    # weight_decay 0.5, gradients chosen so that g + 0.5*w are the gradients above
    # step 1: g1 + 0.5*w0 = [0.25 + 0.5, 0.75 - 0.5] = [0.75, 0.25], so w1 = [0.25, -1.5]
    # step 2: g2 + 0.5*w1 = [-1.75 + 0.125, 0.875 - 0.75] = [-1.625, 0.125], so w2 = [1.0625, -1.75]
    _check(
        lambda p: mtl.RMSprop(p, weight_decay=0.5, **RMSPROP),
        w0=RMSPROP_W0,
        grads=[[0.25, 0.75], [-1.75, 0.875]],
        expected=[[0.25, -1.5], [1.0625, -1.75]],
    )


def test_rmsprop_centered_divides_by_the_standard_deviation() -> None:
    # alpha 0.5, lr 0.5, eps 0.125; a = alpha*a + (1 - alpha)*g, d = sqrt(v - a^2) + eps
    # step 1: v1 = 0.5*g1^2 = [0.5, 0.5];  a1 = 0.5*g1 = [0.5, -0.5]
    #         sqrt(v1 - a1^2) = sqrt([0.25, 0.25]) = [0.5, 0.5];  d1 = [0.625, 0.625]
    #         w1 = w0 - 0.5*g1/d1 = [1 - 0.8, -1 + 0.8] = [0.2, -0.2]
    # step 2: v2 = 0.5*v1 + 0.5*g2^2 = [0.25 + 0.28125, 0.25 + 0.9453125] = [0.53125, 1.1953125]
    #         a2 = 0.5*a1 + 0.5*g2 = [0.25 + 0.375, -0.25 - 0.6875] = [0.625, -0.9375]
    #         v2 - a2^2 = [0.53125 - 0.390625, 1.1953125 - 0.87890625] = [0.140625, 0.31640625]
    #         sqrt(v2 - a2^2) = [0.375, 0.5625];  d2 = [0.5, 0.6875]
    #         w2 = w1 - 0.5*g2/d2 = [0.2 - 0.375/0.5, -0.2 + 0.6875/0.6875] = [-0.55, 0.8]
    _check(
        lambda p: mtl.RMSprop(p, lr=0.5, alpha=0.5, eps=0.125, centered=True),
        w0=[1.0, -1.0],
        grads=[[1.0, -1.0], [0.75, -1.375]],
        expected=[[0.2, -0.2], [-0.55, 0.8]],
    )
