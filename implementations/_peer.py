"""What every peer module shares: :class:`Lazy` (a callable that imports its library on its first call), and
:func:`register_library`, which registers one library's functions as peers, forward and (by the library's own
autodiff, ``stability.adapt``) backward, with their expectations as measured on one version of that library.

A library module (``peers_tensorflow``, ``peers_onnxruntime``, ``peers_mlx``, ``peers_paddle``, ``peers_tinygrad``)
holds data: which functions it has and how it is called (``forwards``), what it lacks and why (``lacks``, which the
atlas shows instead of a verdict), the formats it takes, and what failed when it was measured (``expect``).
"""

from __future__ import annotations

import importlib.util

from stability.registry import register


def have(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


class Lazy:
    """A callable made by ``make()`` on its first call (which imports the peer's library).  Its ``__module__`` is
    the module that registered it, whose source keys a resumed run's journal (``stability.journal``): an edited
    declaration there is checked again."""

    def __init__(self, make, doc: str = "", module: str | None = None):
        self._make, self._fn = make, None
        self.__doc__ = doc
        self.__module__ = module or getattr(make, "__module__", None) or __name__

    def __call__(self, *args, **kwargs):
        if self._fn is None:
            self._fn = self._make()
        return self._fn(*args, **kwargs)


#: what each library lacks, by function name (forward, or ``NAME_vjp``): ``{library: {function: why}}``, read by
#: the atlas, which shows the reason where a verdict would be
LACKS: dict = {}


def register_library(library: str, *, measured_on: str, forwards: dict, dtypes, expect: dict, lacks: dict,
                     gradients: bool = True, dtypes_of: dict | None = None, prefix: str | None = None,
                     flushes_subnormals: bool = False, names: dict | None = None, evaluate=None) -> None:
    """Register ``library``'s functions as peers named ``PREFIX.NAME`` and ``PREFIX.NAME_vjp``.

    ``forwards``: ``{function: (label, make)}``, ``make()`` returning a callable of the suite's convention on the
    library's arrays (it imports the library: called on the first call only).  ``expect``: ``{name: unstable_on}``
    for the forward names and the ``NAME_vjp`` ones, as measured on version ``measured_on``.  ``dtypes``: the
    formats the library computes in (``dtypes_of`` narrows it per name); ``lacks``: ``{name: why}`` for what the
    library does not have.  ``gradients``: whether it differentiates (``stability.libraries``).  ``names``:
    ``{function: short name}`` where a variant is not named after its function (``softmax_precise``); ``expect``
    is then keyed by the short names.  ``evaluate``: for a lazy library, what forces a result (``mx.eval``,
    ``Tensor.realize``), applied to the forward's result and to the gradient, never inside the function the
    autodiff differentiates (a realized tinygrad output has no graph left: its gradient came back as zeros)."""
    from stability.adapt import autodiff_vjp
    from stability.functions import get

    prefix = prefix or library
    LACKS.setdefault(library, {}).update(lacks)
    dtypes_of = dtypes_of or {}
    names = names or {}
    for name, (label, make) in forwards.items():
        reg = dict(library=library, origin="peer", measured_on=measured_on, flushes_subnormals=flushes_subnormals)
        short = names.get(name, name)
        register(name, f"{prefix}.{short}", f"{label}", dtypes=dtypes_of.get(short, dtypes),
                 unstable_on=expect.get(short, ()), **reg)(Lazy(lambda m=make: _forced(m(), evaluate), label,
                                                                    make.__module__))
        vjp, short_vjp = f"{name}_vjp", f"{short}_vjp"
        if not gradients or vjp in lacks or not _has_vjp(vjp, get):
            continue
        register(vjp, f"{prefix}.{short_vjp}", f"{label}, differentiated ({_autodiff(library)})",
                 dtypes=dtypes_of.get(short_vjp, dtypes_of.get(short, dtypes)), unstable_on=expect.get(short_vjp, ()),
                 **reg)(Lazy(lambda m=make: _forced(autodiff_vjp(m(), library), evaluate), label, make.__module__))


def _forced(fn, evaluate):
    """``fn`` with its result forced by ``evaluate`` (a lazy library's), or ``fn`` itself."""
    if evaluate is None:
        return fn

    def call(*args, **kwargs):
        return evaluate(fn(*args, **kwargs))
    call.__doc__ = fn.__doc__
    return call


def _has_vjp(name: str, get) -> bool:
    try:
        get(name)
    except Exception:
        return False
    return True


def _autodiff(library: str) -> str:
    from stability import libraries

    return libraries.TABLE[library].autodiff
