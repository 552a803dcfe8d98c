"""PaddlePaddle's softmax family as peers (CPU: inputs placed on ``paddle.CPUPlace()``, never by
``paddle.set_device``), forward and backward by ``paddle.grad``; registered where PaddlePaddle is installed
(``pip install -e '.[paddle]'``), imported on the first call.  Its CPU kernels exist for float32 and float64 only
(softmax in bfloat16: "kernel ... is not registered ... Paddle support following DataTypes: float64, float32"), so
those are its formats; ``paddle.softmax_f32`` and ``paddle.log_softmax_f32`` are its mixed path,
``F.softmax(x, dtype='float32')`` on 2-byte data (the cast comes first), float32 results.  Its checks run on worker
processes of their own (``stability.libraries``: importing it after TensorFlow kills the process).  Expectations as
measured on the version in ``MEASURED_ON``: docs/atlas.md."""

from ._peer import have, register_library

MEASURED_ON = "3.3.1"
DTYPES = ("float32", "float64")
NO_HALF = "no CPU kernel for float16 or bfloat16 (PaddlePaddle's CPU kernels take float32 and float64)"


def _import(module):
    """``module`` of PaddlePaddle, imported without its start-up warning (no ccache: it compiles nothing here)."""
    import importlib
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return importlib.import_module(module)


def _F():
    return _import("paddle.nn.functional")


def _axis(module, attr, **fixed):
    def make():
        fn = getattr(_import(module), attr)
        return lambda x, axis=-1: fn(x, axis=axis, **fixed)
    return make


def _plain(module, attr):
    def make():
        return getattr(_import(module), attr)
    return make


def _bce():
    F = _F()
    return lambda logits, targets: F.binary_cross_entropy_with_logits(logits, targets, reduction="none")


def _ce():
    F = _F()
    return lambda logits, targets: F.cross_entropy(logits, targets, reduction="none")


FORWARDS = {
    "softmax": ("paddle.nn.functional.softmax", _axis("paddle.nn.functional", "softmax")),
    "log_softmax": ("paddle.nn.functional.log_softmax", _axis("paddle.nn.functional", "log_softmax")),
    "logsumexp": ("paddle.logsumexp", _axis("paddle", "logsumexp")),
    "max": ("paddle.max", _axis("paddle", "max")),
    "argmax": ("paddle.argmax", _axis("paddle", "argmax")),
    "sigmoid": ("paddle.nn.functional.sigmoid", _plain("paddle.nn.functional", "sigmoid")),
    "log_sigmoid": ("paddle.nn.functional.log_sigmoid", _plain("paddle.nn.functional", "log_sigmoid")),
    "softplus": ("paddle.nn.functional.softplus", _plain("paddle.nn.functional", "softplus")),
    "logit": ("paddle.logit", _plain("paddle", "logit")),
    "binary_cross_entropy_with_logits": ("paddle.nn.functional.binary_cross_entropy_with_logits", _bce),
    "cross_entropy": ("paddle.nn.functional.cross_entropy", _ce),
}
MIXED = {
    "softmax": ("paddle.nn.functional.softmax(x, dtype='float32')",
                _axis("paddle.nn.functional", "softmax", dtype="float32")),
    "log_softmax": ("paddle.nn.functional.log_softmax(x, dtype='float32')",
                    _axis("paddle.nn.functional", "log_softmax", dtype="float32")),
}
LACKS = {f"{name}@{d}": NO_HALF for name in FORWARDS for d in ("float16", "bfloat16")}

# measured with paddlepaddle 3.3.1 (CPU), float32 and float64: the union of what failed at the default 25 examples
# (seed 0) and at the tests' 3 (seed 1); docs/atlas.md says what each failure is
EXPECT: dict = {
    'argmax': ('nan',),
    'binary_cross_entropy_with_logits': ('standard', 'thresholds', 'special', 'wide@float64'),
    'binary_cross_entropy_with_logits_vjp': ('standard', 'wide', 'tiny', 'bits', 'special', 'g_ones',
                                             'g_nearly_constant', 'g_mixed_sign', 'g_huge', 'g_tiny',
                                             'g_onehot@float32', 'g_special@float32'),
    'cross_entropy': ("standard", "wide", "shifted", "overflow", "underflow", "dominant", "ascending", "masked",
                      "posinf", "lengths", "tile_masks", "accumulation", "nan@float32",
                      "bits@float32", "block_plus_one"),
    'cross_entropy_vjp': ("wide", "offset", "shifted", "overflow", "underflow", "dominant", "ascending", "masked",
                          "posinf", "lengths", "tile_masks", "g_ones", "g_onehot",
                          "g_nearly_constant", "g_mixed_sign", "g_huge", "g_special",
                          "nan@float32", "bits@float32", "accumulation@float64",
                          "block_plus_one"),
    'log_sigmoid': ('standard', 'thresholds', 'special', 'wide@float64'),
    'log_sigmoid_vjp': ('wide', 'thresholds', 'special', 'g_ones', 'g_onehot', 'g_nearly_constant', 'g_mixed_sign',
                        'g_huge', 'g_special'),
    'log_softmax': ("standard", "wide", "shifted", "overflow", "underflow", "dominant", "ascending", "masked",
                    "posinf", "nan", "lengths", "tile_masks", "accumulation", "offset@float32",
                    "bits@float64", "block_plus_one"),
    'log_softmax_f32': ("standard", "wide", "offset", "shifted", "overflow", "underflow", "dominant", "ascending",
                        "masked", "posinf", "nan", "bits", "lengths", "tile_masks",
                        "accumulation", "shift_rounding", "block_plus_one",
                        "sum_overflow@float16:float32"),
    'log_softmax_f32_vjp': ("tile_masks", "wide@bfloat16:float32", "shifted@bfloat16:float32",
                            "masked@bfloat16:float32", "posinf@bfloat16:float32",
                            "bits@bfloat16:float32", "g_onehot@bfloat16:float32",
                            "lengths@float16:float32", "block_plus_one"),
    'log_softmax_vjp': ("wide", "shifted", "underflow", "dominant", "masked", "posinf", "lengths", "tile_masks",
                        "accumulation", "g_onehot", "g_mixed_sign", "offset@float32",
                        "bits@float32", "block_plus_one"),
    'logit': ('tiny', 'bits', 'tails', 'standard@float64', 'special@float64'),
    'logit_vjp': ('tiny', 'bits', 'special', 'tails', 'g_onehot', 'standard@float64', 'g_tiny@float64'),
    'logsumexp': ('standard', 'overflow', 'dominant', 'ascending', 'masked', 'posinf', 'nan', 'accumulation'),
    'logsumexp_vjp': ("wide", "offset", "shifted", "overflow", "underflow", "masked", "posinf", "lengths",
                      "tile_masks", "g_ones", "g_onehot", "g_nearly_constant", "g_mixed_sign",
                      "g_huge", "g_special", "bits@float32", "accumulation@float64",
                      "block_plus_one"),
    'max_vjp': ('g_special',),
    'sigmoid': ('thresholds',),
    'sigmoid_vjp': ('standard', 'wide', 'thresholds', 'special', 'g_ones', 'g_onehot', 'g_nearly_constant',
                    'g_mixed_sign', 'g_huge', 'g_special'),
    'softmax': ("wide", "shifted", "overflow", "masked", "posinf", "lengths", "tile_masks", "nan@float32",
                "dominant@float64", "bits@float64", "block_plus_one"),
    'softmax_f32': ("wide", "masked", "posinf", "nan", "bits", "lengths", "tile_masks", "shifted@bfloat16:float32",
                    "overflow@bfloat16:float32", "block_plus_one",
                    "sum_overflow@float16:float32"),
    'softmax_f32_vjp': ("wide", "underflow", "ascending", "masked", "posinf", "nan", "bits", "lengths",
                        "tile_masks", "shift_rounding", "g_huge",
                        "shifted@bfloat16:float32", "overflow@bfloat16:float32",
                        "g_ones@bfloat16:float32", "g_onehot@bfloat16:float32",
                        "g_nearly_constant@bfloat16:float32",
                        "g_mixed_sign@bfloat16:float32", "g_special@bfloat16:float32",
                        "block_plus_one"),
    'softmax_vjp': ("standard", "wide", "offset", "shifted", "overflow", "underflow", "dominant", "ascending",
                    "masked", "posinf", "nan", "bits", "lengths", "tile_masks", "accumulation",
                    "g_ones", "g_onehot", "g_nearly_constant", "g_mixed_sign", "g_huge",
                    "g_special", "ties@float64", "block_plus_one"),
    'softplus': ('standard', 'thresholds', 'special', 'wide@float64'),
    'softplus_vjp': ("thresholds", "g_ones", "g_nearly_constant", "g_mixed_sign", "g_huge", "g_special@float32",
                     "wide@float64", "g_onehot@float64", "g_special@float64"),
}

if have("paddle"):
    register_library("paddle", measured_on=MEASURED_ON, forwards=FORWARDS, dtypes=DTYPES, expect=EXPECT, lacks=LACKS)
    register_library("paddle", measured_on=MEASURED_ON, forwards=MIXED, dtypes=("bfloat16:float32", "float16:float32"),
                     expect=EXPECT, lacks={}, names={"softmax": "softmax_f32", "log_softmax": "log_softmax_f32"})
