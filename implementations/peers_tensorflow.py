"""TensorFlow's softmax family as peers (CPU, eager, as ``tf.nn`` and ``tf.math`` compute it), forward and backward
by ``tf.GradientTape``, in float16, bfloat16, float32 and float64: registered where TensorFlow is installed
(``pip install -e '.[tensorflow]'``), imported on the first call.  Its checks run on worker processes of their own
(``stability.libraries``: importing PaddlePaddle after TensorFlow kills the process).  TensorFlow's CPU kernels
flush subnormals to zero (measured: ``tf.reduce_max([0.0, 5e-324])`` is 0 in float64, and 1e-40 * 1 is 0 in
float32), while NumPy in the same process keeps them: declared (``flushes_subnormals``), so its formulas are judged
in the format without subnormals, as JAX's are.  Expectations as measured on the version in ``MEASURED_ON``:
docs/atlas.md."""

from ._peer import have, register_library

MEASURED_ON = "2.21.0"
DTYPES = ("float16", "bfloat16", "float32", "float64")


def _tf():
    from stability.arraylib import tensorflow

    return tensorflow()


def _axis(path):
    def make():
        fn = _attr(_tf(), path)
        return lambda x, axis=-1: fn(x, axis=axis)
    return make


def _plain(path):
    return lambda: _attr(_tf(), path)


def _attr(obj, path):
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _bce():
    tf = _tf()
    return lambda logits, targets: tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits)


def _ce():
    tf = _tf()
    return lambda logits, targets: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)


FORWARDS = {
    "softmax": ("tf.nn.softmax", _axis("nn.softmax")),
    "log_softmax": ("tf.nn.log_softmax", _axis("nn.log_softmax")),
    "logsumexp": ("tf.math.reduce_logsumexp", _axis("math.reduce_logsumexp")),
    "max": ("tf.math.reduce_max", _axis("math.reduce_max")),
    "argmax": ("tf.math.argmax", _axis("math.argmax")),
    "sigmoid": ("tf.math.sigmoid", _plain("math.sigmoid")),
    "log_sigmoid": ("tf.math.log_sigmoid", _plain("math.log_sigmoid")),
    "softplus": ("tf.math.softplus", _plain("math.softplus")),
    "binary_cross_entropy_with_logits": ("tf.nn.sigmoid_cross_entropy_with_logits", _bce),
    "cross_entropy": ("tf.nn.sparse_softmax_cross_entropy_with_logits", _ce),
}
LACKS = {"logit": "no logit function in tf.math or tf.nn", "logit_vjp": "no logit function in tf.math or tf.nn"}

# measured with tensorflow-cpu 2.21.0 (CPU, eager), four dtypes: the union of what failed at the default 25 examples
# (seed 0) and at the tests' 3 (seed 1); docs/atlas.md says what each failure is
EXPECT: dict = {}

if have("tensorflow"):
    register_library("tensorflow", prefix="tf", measured_on=MEASURED_ON, forwards=FORWARDS, dtypes=DTYPES,
                     flushes_subnormals=True,
                     expect=EXPECT, lacks=LACKS)
