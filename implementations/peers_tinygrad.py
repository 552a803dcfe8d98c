"""tinygrad's softmax family as peers (its CPU device, named on every tensor: ``Tensor(..., device="CPU")``, never
by ``DEV``), forward and backward by ``Tensor.backward``; registered where tinygrad is installed
(``pip install -e '.[tinygrad]'``, and a ``clang`` on the PATH: its CPU device compiles every kernel with it),
imported on the first call.  tinygrad is lazy: each callable realizes its result inside the call; the gradient is
taken of the unrealized forward (a realized output has no graph left: tinygrad 0.14 then returns zeros, no error).  Formats: float16,
float32, float64; bfloat16 kernels do not compile with Debian 12's clang 14 (measured), so the atlas shows bfloat16
as lacking on such a machine.  Expectations as measured on the version in ``MEASURED_ON``: docs/atlas.md."""

from ._peer import have, register_library

MEASURED_ON = "0.14.0"
DTYPES = ("float16", "float32", "float64")


def _method(attr, axis=True):
    def make():
        if axis:
            return lambda x, axis=-1: getattr(x, attr)(axis)
        return lambda x: getattr(x, attr)()
    return make


def _bce():
    return lambda logits, targets: logits.binary_crossentropy_logits(targets, reduction="none")


def _ce():
    return lambda logits, targets: logits.sparse_categorical_crossentropy(targets, reduction="none")


def _realize(out):
    return out.realize()


FORWARDS = {
    "softmax": ("Tensor.softmax", _method("softmax")),
    "log_softmax": ("Tensor.log_softmax", _method("log_softmax")),
    "logsumexp": ("Tensor.logsumexp", _method("logsumexp")),
    "max": ("Tensor.max", _method("max")),
    "argmax": ("Tensor.argmax", _method("argmax")),
    "sigmoid": ("Tensor.sigmoid", _method("sigmoid", axis=False)),
    "log_sigmoid": ("Tensor.logsigmoid", _method("logsigmoid", axis=False)),
    "softplus": ("Tensor.softplus", _method("softplus", axis=False)),
    "binary_cross_entropy_with_logits": ("Tensor.binary_crossentropy_logits(reduction='none')", _bce),
    "cross_entropy": ("Tensor.sparse_categorical_crossentropy(reduction='none')", _ce),
}
NO_BF16 = "bfloat16 kernels do not compile on this machine's CPU device (Debian 12's clang 14 has no __bf16 arithmetic)"
LACKS = {"logit": "no logit method on Tensor", "logit_vjp": "no logit method on Tensor",
         **{f"{name}@bfloat16": NO_BF16 for name in FORWARDS}}

# measured with tinygrad 0.14.0 (CPU device, clang 14), float16, float32, float64: the union of what failed at the
# default 25 examples (seed 0) and at the tests' 3 (seed 1); docs/atlas.md says what each failure is
EXPECT: dict = {
    'argmax': ('nan',),
    'binary_cross_entropy_with_logits': ('standard', 'thresholds', 'special@float32', 'wide@float64',
                                         'special@float64'),
    'binary_cross_entropy_with_logits_vjp': ('g_huge@float32', 'g_huge@float64'),
    'cross_entropy': ("standard", "overflow", "underflow", "dominant", "ascending", "masked", "lengths",
                      "tile_masks", "posinf@float16", "accumulation@float32", "wide@float64",
                      "offset@float64", "accumulation@float64", "block_plus_one",
                      "sum_overflow@float16"),
    'cross_entropy_vjp': ("offset", "overflow", "underflow", "dominant", "ascending", "masked", "posinf",
                          "lengths", "g_ones", "g_onehot", "g_huge", "standard@float16",
                          "standard@float32", "tile_masks@float32",
                          "accumulation@float32", "g_mixed_sign@float32", "wide@float64",
                          "tile_masks@float64", "accumulation@float64",
                          "g_nearly_constant@float64", "g_mixed_sign@float64",
                          "block_plus_one", "sum_overflow@float16"),
    'log_sigmoid': ('standard', 'thresholds', 'special', 'bits@float16', 'wide@float64'),
    'log_sigmoid_vjp': ('special', 'g_huge@float32', 'g_huge@float64'),
    'log_softmax': ("standard", "overflow", "underflow", "dominant", "ascending", "masked", "posinf", "nan",
                    "lengths", "tile_masks", "shifted@float16", "bits@float16",
                    "offset@float32", "shifted@float32", "accumulation@float32", "wide@float64",
                    "offset@float64", "accumulation@float64", "block_plus_one",
                    "sum_overflow@float16"),
    'log_softmax_vjp': ("underflow", "dominant", "masked", "posinf", "nan", "g_mixed_sign", "wide@float16",
                        "offset@float32", "shifted@float32", "lengths@float32",
                        "tile_masks@float32", "accumulation@float32", "g_onehot@float32",
                        "g_special@float32", "tile_masks@float64", "accumulation@float64",
                        "g_onehot@float64", "g_special@float64", "sum_overflow@float16"),
    'logsumexp': ("standard", "overflow", "dominant", "ascending", "masked", "posinf", "nan",
                  "accumulation@float32", "accumulation@float64", "sum_overflow@float16"),
    'logsumexp_vjp': ("masked", "nan", "lengths@float32", "tile_masks@float32", "lengths@float64",
                      "tile_masks@float64", "accumulation@float64", "g_huge@float64",
                      "sum_overflow@float16", "block_plus_one@float32",
                      "block_plus_one@float64"),
    'max': ('nan',),
    'max_vjp': ("nan", "g_special", "accumulation@float16", "shifted@float32", "ties@float32", "posinf@float32",
                "posinf@float64", "wide@float64", "offset@float64", "ties@float64", "masked@float64",
                "sum_overflow@float16"),
    'sigmoid': ('thresholds', 'standard@float16', 'bits@float16', 'special@float16'),
    'sigmoid_vjp': ('standard', 'thresholds', 'special', 'g_ones', 'g_onehot', 'g_nearly_constant', 'g_mixed_sign',
                    'g_huge', 'g_special', 'wide@float32', 'wide@float64'),
    'softmax': ("masked", "posinf", "nan", "tile_masks@float32", "accumulation@float32", "tile_masks@float64",
                "accumulation@float64", "sum_overflow@float16", "block_plus_one@float32",
                "block_plus_one@float64"),
    'softmax_vjp': ("standard", "offset", "overflow", "underflow", "dominant", "ascending", "masked", "posinf",
                    "nan", "lengths", "tile_masks", "accumulation", "g_onehot",
                    "g_nearly_constant", "g_mixed_sign", "g_huge", "g_special",
                    "shifted@float16", "bits@float16", "g_ones@float16", "shifted@float32",
                    "bits@float32", "wide@float64", "sum_overflow@float16"),
    'softplus': ('standard', 'thresholds', 'special', 'bits@float16', 'wide@float64'),
    'softplus_vjp': ('special', 'g_huge@float32', 'g_huge@float64'),
}

if have("tinygrad"):
    register_library("tinygrad", measured_on=MEASURED_ON, forwards=FORWARDS, dtypes=DTYPES, expect=EXPECT, lacks=LACKS,
                     evaluate=_realize)
