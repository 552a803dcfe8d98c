"""ONNX Runtime's CPU execution provider as a peer: each ONNX operator of the softmax family built as a one-node
model with the ``onnx`` package and run by an ``InferenceSession`` (forward only: inference sessions have no
autodiff), as a deployed model runs it; registered where ``onnxruntime`` and ``onnx`` are installed
(``pip install -e '.[onnxruntime]'``).  One session per operator, format and rank, made on first use and kept.
Formats as the provider has kernels for them (measured: no bfloat16 kernel for any of these operators, no float64
Softplus).  Expectations as measured on the version in ``MEASURED_ON``: docs/atlas.md."""

from ._peer import have, register_library

MEASURED_ON = "1.32.0"
OPSET = 21
DTYPES = ("float16", "float32", "float64")
_SESSIONS: dict = {}


def _session(op: str, dtype, ndim: int, attrs: dict, *, axes=None, labels: bool = False, out_int: bool = False):
    import numpy as np

    key = (op, np.dtype(dtype).str, ndim, tuple(sorted(attrs.items())), axes, labels)
    if key not in _SESSIONS:
        import onnxruntime as ort
        from onnx import TensorProto, helper

        elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
        inputs = [helper.make_tensor_value_info("x", elem, [None] * ndim)]
        names, inits = ["x"], []
        if labels:
            inputs.append(helper.make_tensor_value_info("t", TensorProto.INT64, [None] * (ndim - 1)))
            names.append("t")
        if axes is not None:
            inits.append(helper.make_tensor("axes", TensorProto.INT64, [1], [axes]))
            names.append("axes")
        node = helper.make_node(op, names, ["y"], **attrs)
        graph = helper.make_graph([node], op, inputs, [helper.make_tensor_value_info(
            "y", TensorProto.INT64 if out_int else elem, None)], initializer=inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 10
        _SESSIONS[key] = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return _SESSIONS[key]


def _axis_op(op, reduce=False, out_int=False):
    def make():
        def call(x, axis=-1):
            axis = axis % x.ndim if x.ndim else axis
            if reduce and not out_int:  # ReduceMax, ReduceLogSumExp: axes as an input since opset 18
                s = _session(op, x.dtype, x.ndim, {"keepdims": 0}, axes=axis)
            else:
                s = _session(op, x.dtype, x.ndim, {"axis": axis, **({"keepdims": 0} if reduce else {})},
                             out_int=out_int)
            return s.run(None, {"x": x})[0]
        return call
    return make


def _elementwise(op):
    def make():
        return lambda x: _session(op, x.dtype, x.ndim, {}).run(None, {"x": x})[0]
    return make


def _ce():
    import numpy as np

    def call(logits, targets):
        s = _session("SoftmaxCrossEntropyLoss", logits.dtype, logits.ndim, {"reduction": "none"}, labels=True)
        return s.run(None, {"x": logits, "t": np.asarray(targets, dtype=np.int64)})[0]
    return call


FORWARDS = {
    "softmax": ("ONNX Softmax", _axis_op("Softmax")),
    "log_softmax": ("ONNX LogSoftmax", _axis_op("LogSoftmax")),
    "logsumexp": ("ONNX ReduceLogSumExp", _axis_op("ReduceLogSumExp", reduce=True)),
    "max": ("ONNX ReduceMax", _axis_op("ReduceMax", reduce=True)),
    "argmax": ("ONNX ArgMax", _axis_op("ArgMax", reduce=True, out_int=True)),
    "sigmoid": ("ONNX Sigmoid", _elementwise("Sigmoid")),
    "softplus": ("ONNX Softplus", _elementwise("Softplus")),
    "cross_entropy": ("ONNX SoftmaxCrossEntropyLoss(reduction='none')", _ce),
}
NO_GRAD = "forward only: an ONNX Runtime inference session has no autodiff"
NO_BF16 = "no bfloat16 kernel in the CPU execution provider (NOT_IMPLEMENTED)"
LACKS = {"log_sigmoid": "no ONNX operator (LogSigmoid is not in the standard set)",
         "logit": "no ONNX operator", "binary_cross_entropy_with_logits": "no ONNX operator",
         "softplus@float64": "no float64 Softplus kernel in the CPU execution provider (NOT_IMPLEMENTED)",
         **{f"{name}@bfloat16": NO_BF16 for name in FORWARDS}, "gradients": NO_GRAD}

# measured with onnxruntime 1.32.0 (CPU execution provider), float16, float32, float64: the union of what failed at
# the default 25 examples (seed 0) and at the tests' 3 (seed 1); docs/atlas.md says what each failure is
EXPECT: dict = {
    'argmax': ('nan',),
    'cross_entropy': ("standard@float32", "overflow@float32", "underflow@float32", "dominant@float32",
                      "ascending@float32", "masked@float32", "lengths@float32",
                      "tile_masks@float32", "accumulation@float32", "standard@float64",
                      "wide@float64", "overflow@float64", "underflow@float64",
                      "dominant@float64", "ascending@float64", "masked@float64",
                      "nan@float64", "lengths@float64", "tile_masks@float64",
                      "accumulation@float64", "block_plus_one@float64"),
    'log_softmax': ("standard@float32", "offset@float32", "shifted@float32", "overflow@float32",
                    "underflow@float32", "dominant@float32", "ascending@float32",
                    "masked@float32", "posinf@float32", "nan@float32", "lengths@float32",
                    "tile_masks@float32", "accumulation@float32", "standard@float64",
                    "wide@float64", "overflow@float64", "underflow@float64", "dominant@float64",
                    "ascending@float64", "masked@float64", "posinf@float64", "nan@float64",
                    "lengths@float64", "tile_masks@float64", "accumulation@float64",
                    "block_plus_one@float32", "block_plus_one@float64"),
    'logsumexp': ('nan', 'standard@float32', 'overflow@float32', 'dominant@float32', 'ascending@float32',
                  'masked@float32', 'posinf@float32', 'accumulation@float32', 'standard@float64', 'overflow@float64',
                  'dominant@float64', 'ascending@float64', 'masked@float64', 'posinf@float64',
                  'accumulation@float64'),
    'max': ('nan',),
    'sigmoid': ('standard@float32', 'thresholds@float32', 'special@float32', 'standard@float64', 'wide@float64',
                'thresholds@float64', 'special@float64'),
    'softmax': ("tile_masks@float64", "block_plus_one@float64"),
}

if have("onnxruntime") and have("onnx"):
    register_library("onnxruntime", prefix="ort", measured_on=MEASURED_ON, forwards=FORWARDS, dtypes=DTYPES,
                     expect=EXPECT, lacks=LACKS, gradients=False, dtypes_of={"softplus": ("float16", "float32")})
