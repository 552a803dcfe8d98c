"""MLX's softmax family as peers (its CPU build: ``mx.stream(mx.cpu)`` for each call, ``stability.arraylib``),
forward and backward by ``mx.vjp``, in float16, bfloat16, float32 and float64; registered where MLX is installed
(``pip install -e '.[mlx]'``), imported on the first call.  MLX is lazy: each callable evaluates its result
(``mx.eval``) inside the call, so what it computes is judged, and timed, there; the gradient is taken of the
unevaluated forward and evaluated after.  ``mlx.softmax_precise`` is
``mx.softmax(x, precise=True)``: float32 accumulation for 2-byte data, the result in the input's format.
Expectations as measured on the version in ``MEASURED_ON``: docs/atlas.md."""

from ._peer import have, register_library

MEASURED_ON = "0.32.4"
DTYPES = ("float16", "bfloat16", "float32", "float64")


def _evaluate(out):
    import mlx.core as mx

    mx.eval(out)
    return out


def _core(attr, axis=True, **fixed):
    def make():
        import mlx.core as mx

        fn = getattr(mx, attr)
        return (lambda x, axis=-1: fn(x, axis=axis, **fixed)) if axis else fn
    return make


def _nn(attr, axis=False):
    def make():
        import mlx.nn as nn

        fn = getattr(nn, attr)
        return (lambda x, axis=-1: fn(x, axis=axis)) if axis else fn
    return make


def _bce():
    import mlx.nn as nn

    return lambda logits, targets: nn.losses.binary_cross_entropy(logits, targets, with_logits=True,
                                                                  reduction="none")


def _ce():
    import mlx.nn as nn

    return lambda logits, targets: nn.losses.cross_entropy(logits, targets, reduction="none")


FORWARDS = {
    "softmax": ("mx.softmax", _core("softmax")),
    "log_softmax": ("mlx.nn.log_softmax", _nn("log_softmax", axis=True)),
    "logsumexp": ("mx.logsumexp", _core("logsumexp")),
    "max": ("mx.max", _core("max")),
    "argmax": ("mx.argmax", _core("argmax")),
    "sigmoid": ("mx.sigmoid", _core("sigmoid", axis=False)),
    "log_sigmoid": ("mlx.nn.log_sigmoid", _nn("log_sigmoid")),
    "softplus": ("mlx.nn.softplus", _nn("softplus")),
    "binary_cross_entropy_with_logits": ("mlx.nn.losses.binary_cross_entropy(with_logits=True)", _bce),
    "cross_entropy": ("mlx.nn.losses.cross_entropy", _ce),
}
PRECISE = {"softmax": ("mx.softmax(x, precise=True)", _core("softmax", precise=True))}
LACKS = {"logit": "no logit function in mlx.core or mlx.nn", "logit_vjp": "no logit function in mlx.core or mlx.nn"}

# measured with mlx 0.32.4 (CPU), four dtypes: the union of what failed at the default 25 examples (seed 0) and at
# the tests' 3 (seed 1); docs/atlas.md says what each failure is
EXPECT: dict = {
    'binary_cross_entropy_with_logits': ('thresholds@float32', 'standard@float64', 'wide@float64',
                                         'thresholds@float64', 'special@float64', 'standard@bfloat16',
                                         'standard@float16', 'standard@float32', 'thresholds@bfloat16',
                                         'thresholds@float16'),
    'binary_cross_entropy_with_logits_vjp': ("standard", "thresholds", "g_ones", "g_onehot", "g_nearly_constant",
                                             "g_mixed_sign", "g_huge",
                                             "g_special",
                                             "special@bfloat16",
                                             "wide@float32",
                                             "special@float32",
                                             "wide@float64",
                                             "special@float64",
                                             "special@float16"),
    'cross_entropy': ("overflow@bfloat16", "ascending@bfloat16", "standard@float32", "overflow@float32",
                      "underflow@float32", "dominant@float32", "ascending@float32",
                      "masked@float32", "lengths@float32", "tile_masks@float32",
                      "accumulation@float32", "standard@float64", "wide@float64",
                      "offset@float64", "shifted@float64", "overflow@float64",
                      "underflow@float64", "dominant@float64", "ties@float64",
                      "lse_zero@float64", "ascending@float64", "masked@float64",
                      "posinf@float64", "nan@float64", "lengths@float64",
                      "tile_masks@float64", "accumulation@float64", "block_plus_one@float32",
                      "block_plus_one@float64"),
    'cross_entropy_vjp': ("offset", "overflow", "underflow", "ascending", "masked", "lengths", "g_ones",
                          "g_onehot", "g_huge", "dominant@float16", "posinf@float16",
                          "g_mixed_sign@float16", "tile_masks@bfloat16",
                          "standard@float32", "dominant@float32", "posinf@float32",
                          "tile_masks@float32", "accumulation@float32",
                          "g_mixed_sign@float32", "standard@float64", "wide@float64",
                          "dominant@float64", "ties@float64", "lse_zero@float64",
                          "posinf@float64", "tile_masks@float64", "accumulation@float64",
                          "g_nearly_constant@float64", "g_mixed_sign@float64",
                          "g_special@float64", "block_plus_one"),
    'log_sigmoid': ('thresholds@float32', 'standard@float64', 'wide@float64', 'thresholds@float64',
                    'special@float64'),
    'log_sigmoid_vjp': ('g_huge', 'standard@float16', 'thresholds@float16', 'special@float16', 'g_ones@float16',
                        'g_onehot@float16', 'g_nearly_constant@float16', 'g_mixed_sign@float16', 'g_special@float16',
                        'thresholds@float32', 'g_ones@float32', 'g_onehot@float32', 'g_mixed_sign@float32',
                        'g_special@float32', 'standard@float64', 'wide@float64', 'thresholds@float64',
                        'special@float64', 'g_ones@float64', 'g_onehot@float64', 'g_nearly_constant@float64',
                        'g_mixed_sign@float64', 'g_special@float64'),
    # mlx.nn.log_softmax crashes the process on any input whose reduced axis has length 1 (and corrupts the heap
    # on the way: where the crash comes varies), and every family draws such shapes: declared on all of them
    'log_softmax': ("standard", "wide", "offset", "shifted", "overflow", "underflow", "dominant", "ties",
                    "lse_zero", "ascending", "masked", "posinf", "nan", "tiny", "bits",
                    "lengths", "tile_masks", "accumulation", "block_plus_one@float64"),
    'log_softmax_vjp': ("g_mixed_sign", "wide@float16", "underflow@float16", "dominant@float16",
                        "tile_masks@float16", "shifted@bfloat16", "bits@bfloat16",
                        "g_onehot@bfloat16", "offset@float32", "shifted@float32",
                        "underflow@float32", "dominant@float32", "lengths@float32",
                        "tile_masks@float32", "accumulation@float32", "g_onehot@float32",
                        "standard@float64", "wide@float64", "offset@float64",
                        "overflow@float64", "underflow@float64", "dominant@float64",
                        "ties@float64", "lse_zero@float64", "ascending@float64",
                        "masked@float64", "posinf@float64", "nan@float64", "bits@float64",
                        "lengths@float64", "tile_masks@float64", "accumulation@float64",
                        "g_ones@float64", "g_onehot@float64", "g_nearly_constant@float64",
                        "g_huge@float64", "g_special@float64", "block_plus_one@float16",
                        "block_plus_one@float64", "sum_overflow@float16"),
    'logsumexp': ("standard", "overflow", "dominant", "ascending", "masked", "posinf", "accumulation@float32",
                  "wide@float64", "offset@float64", "shifted@float64", "underflow@float64",
                  "ties@float64", "lse_zero@float64", "nan@float64", "bits@float64",
                  "lengths@float64", "tile_masks@float64", "accumulation@float64",
                  "block_plus_one@float64"),
    'logsumexp_vjp': ("standard@float16", "ascending@float16", "posinf@float16", "g_mixed_sign@float16",
                      "g_huge@float16", "overflow@float32", "lengths@float32",
                      "tile_masks@float32", "standard@float64", "wide@float64",
                      "offset@float64", "shifted@float64", "overflow@float64",
                      "underflow@float64", "dominant@float64", "ties@float64",
                      "lse_zero@float64", "ascending@float64", "masked@float64",
                      "posinf@float64", "nan@float64", "bits@float64", "lengths@float64",
                      "tile_masks@float64", "accumulation@float64", "g_ones@float64",
                      "g_onehot@float64", "g_nearly_constant@float64", "g_mixed_sign@float64",
                      "g_huge@float64", "g_special@float64", "block_plus_one@float32",
                      "block_plus_one@float64"),
    'max_vjp': ('g_special', 'sum_overflow@float16'),
    'sigmoid': ('standard@float16', 'bits@float16', 'thresholds@float16', 'special@float16', 'thresholds@float32',
                'standard@float64', 'wide@float64', 'thresholds@float64', 'special@float64'),
    'sigmoid_vjp': ('standard', 'thresholds', 'special', 'g_ones', 'g_onehot', 'g_nearly_constant', 'g_mixed_sign',
                    'g_huge', 'g_special', 'wide@bfloat16', 'wide@float32', 'wide@float64'),
    'softmax': ("lengths", "accumulation", "overflow@float32", "tile_masks@float32", "standard@float64",
                "wide@float64", "offset@float64", "shifted@float64", "overflow@float64",
                "underflow@float64", "dominant@float64", "ties@float64", "lse_zero@float64",
                "ascending@float64", "masked@float64", "posinf@float64", "nan@float64",
                "bits@float64", "tile_masks@float64", "sum_overflow@float16",
                "block_plus_one@float32", "block_plus_one@float64"),
    'softmax_precise_vjp': ("overflow", "dominant", "masked", "posinf", "lengths", "tile_masks",
                            "standard@float16", "bits@float16", "accumulation@float16",
                            "g_onehot@float16", "g_nearly_constant@float16",
                            "g_huge@float16", "underflow@bfloat16",
                            "ascending@bfloat16", "g_ones@bfloat16",
                            "block_plus_one@float16"),
    'softmax_vjp': ("standard", "offset", "overflow", "underflow", "dominant", "ascending", "masked", "posinf",
                    "lengths", "tile_masks", "accumulation", "g_ones", "g_onehot",
                    "g_nearly_constant", "g_mixed_sign", "g_huge", "shifted@float16",
                    "bits@float16", "g_special@float16", "ties@bfloat16", "nan@bfloat16",
                    "shifted@float32", "ties@float32", "bits@float32", "wide@float64",
                    "ties@float64", "lse_zero@float64", "bits@float64", "g_special@float64",
                    "block_plus_one@float16", "block_plus_one@float64", "sum_overflow@float16"),
    'softplus': ('thresholds@float32', 'standard@float64', 'wide@float64', 'thresholds@float64', 'special@float64'),
    'softplus_vjp': ("g_huge", "standard@float16", "thresholds@float16", "g_ones@float16",
                     "g_nearly_constant@float16", "g_mixed_sign@float16", "g_special@float16",
                     "thresholds@float32", "g_ones@float32", "g_nearly_constant@float32",
                     "g_mixed_sign@float32", "g_special@float32", "standard@float64",
                     "wide@float64", "thresholds@float64", "special@float64", "g_ones@float64",
                     "g_onehot@float64", "g_nearly_constant@float64", "g_mixed_sign@float64",
                     "g_special@float64", "g_onehot@float32"),
}

if have("mlx"):
    register_library("mlx", measured_on=MEASURED_ON, forwards=FORWARDS, dtypes=DTYPES, expect=EXPECT, lacks=LACKS,
                     evaluate=_evaluate)
    register_library("mlx", prefix="mlx", measured_on=MEASURED_ON, forwards={
        "softmax": PRECISE["softmax"]}, dtypes=("float16", "bfloat16"), expect=EXPECT, lacks={},
        names={"softmax": "softmax_precise"}, evaluate=_evaluate)
