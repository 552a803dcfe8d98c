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
EXPECT: dict = {}

if have("mlx"):
    register_library("mlx", measured_on=MEASURED_ON, forwards=FORWARDS, dtypes=DTYPES, expect=EXPECT, lacks=LACKS,
                     evaluate=_evaluate)
    register_library("mlx", prefix="mlx", measured_on=MEASURED_ON, forwards={
        "softmax": PRECISE["softmax"]}, dtypes=("float16", "bfloat16"), expect=EXPECT, lacks={},
        names={"softmax": "softmax_precise"}, evaluate=_evaluate)
