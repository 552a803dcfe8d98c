"""The references of recent calls, recalled by a digest of the call instead of settled again.

Every implementation of a function checked on one seed meets the same inputs -- Hypothesis draws them from the
seed and the strategy, not from the code under test -- so a run that checks many implementations (the report,
``stability verify --function F``, the test suite) settled each input once per implementation.  The digest covers
everything the reference depends on: the function, each argument's dtype, shape and bytes, the axis and the
output format; a hit returns the same :class:`~stability.reference.Reference` object, which its readers
(``stability.call``, ``stability.metrics``) only read.  Bounded by the outputs held (:data:`BUDGET`), oldest
first out.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np

#: outputs held at most, over every kept reference (about 40 bytes each: value, exact value, kappa)
BUDGET = 1 << 20

_kept: OrderedDict = OrderedDict()
_held = 0


def _digest(function: str, args, kwargs, out) -> bytes:
    h = hashlib.blake2b(digest_size=20)
    h.update(repr((function, sorted(kwargs.items()), getattr(out, "name", out))).encode())
    for a in args:
        a = np.asarray(a)
        h.update(repr((a.dtype.str, a.dtype.name, a.shape)).encode())
        h.update(a.tobytes())
    return h.digest()


def recall(evaluate, function: str, args, kwargs, out=None):
    """``evaluate(function, *args, **kwargs, out=out)``, or the reference that an earlier identical call gave."""
    global _held
    key = _digest(function, args, kwargs, out)
    ref = _kept.get(key)
    if ref is not None:
        _kept.move_to_end(key)
        return ref
    # evaluated on copies: the reference keeps its call's arguments, which the caller may reuse
    ref = evaluate(function, *(np.array(a, copy=True) for a in args), **kwargs, out=out)
    size = int(np.size(ref.value))
    if size <= BUDGET // 4:
        _kept[key] = ref
        _held += size
        while _held > BUDGET:
            _, old = _kept.popitem(last=False)
            _held -= int(np.size(old.value))
    return ref


def forget() -> None:
    """Drop every kept reference."""
    global _held
    _kept.clear()
    _held = 0
