"""softmax-stability: is this softmax-family implementation accurate, and how fast is it?

Modules: ``reference`` (correctly rounded truth), ``condition`` (condition numbers), ``metrics`` (ULPs and the
verdict), ``policy`` (special values), ``strategies`` (Hypothesis input families), ``registry``
(implementations and SPECs), ``verify`` (the fuzzing engine), ``testing`` (assertions for your own tests),
``cli`` (``python -m stability``).
"""

__version__ = "0.1.0"
