"""The registry of implementations under test, and :func:`resolve` for any implementation SPEC.

An implementation is a callable following the calling convention of ``stability.functions``, registered with
its metadata: the function it computes, its array library, a one-line description and its *expectation*:
``stable`` (it must pass on every input family), or unstable on named families (``unstable_on=("overflow",)``:
the suite expects to flag it there, and only there). A family may be narrowed to one dtype with ``@``:
``unstable_on=("lengths@bfloat16",)`` expects a failure on long rows in bfloat16 only.

Modules in the ``implementations`` package register themselves on import with :func:`register`::

    @register("softmax", "softmax.shifted", "max-shifted exp / sum")
    def softmax_shifted(x, axis=-1): ...

Other packages register theirs the same way, through the entry-point group ``stability.implementations``
(:data:`ENTRY_POINT_GROUP`): each entry point names a module that calls :func:`register` when imported (or a
callable that does when called).  In the package's ``pyproject.toml``::

    [project.entry-points."stability.implementations"]
    mylib = "mylib.stability_registrations"

The suite's own ``implementations`` package is registered by the same entry point in its own ``pyproject.toml``;
``stability list`` shows every registration and which entry point it came from.  An entry point that fails to
load is left out with a :class:`RegistrationWarning` that says why; it never stops the suite.

A SPEC names an implementation three ways (the CLI's ``--impl`` and :func:`resolve` take all three):

* a registered name: ``softmax.shifted``
* an importable attribute: ``package.module:attr``
* a file and an attribute: ``path/to/file.py:attr`` (the user's own code)

Code that is not registered is expected to be stable (a ``__stability_flushes_subnormals__ = True``
attribute declares flush-to-zero, as ``register(..., flushes_subnormals=True)`` does), is named by its SPEC,
and is called through ``stability.adapt``: its array library is read from its ``__stability_library__``
attribute or its package (torch, jax, cupy; NumPy otherwise), and a ``dim=`` axis, a per-vector function or a
``reduction=`` loss is called by the suite's convention.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import libraries
from .adapt import adapt, library_of
from .errors import UsageError, did_you_mean
from .functions import FUNCTIONS, get

LIBRARIES = libraries.NAMES  # the table: stability/libraries.py
GPU_LIBRARIES = libraries.GPU


class SpecError(UsageError):
    """A SPEC that names nothing callable; the message says how to fix it."""


class RegistrationWarning(UserWarning):
    """An entry point of ``stability.implementations`` could not be loaded; its implementations are left out."""


#: the entry-point group through which packages (this suite included) register implementations
ENTRY_POINT_GROUP = "stability.implementations"
#: the suite's own registrations: the ``implementations`` package
BUILTIN_MODULE = "implementations"
#: entry points that failed to load: ``name = value`` -> the reason
LOAD_ERRORS: dict[str, str] = {}
_SOURCE: list = []  # while a third-party entry point loads: which one (its registrations record it)


@dataclass(frozen=True)
class Implementation:
    name: str
    function: str
    fn: Callable
    library: str = "numpy"
    description: str = ""
    unstable_on: tuple[str, ...] = ()
    dtypes: tuple[str, ...] | None = None  # the signatures it supports (None: every format, each alone)
    origin: str = "builtin"  # builtin, peer, user, or plugin (another package's, by entry point)
    extra: dict = field(default_factory=dict, compare=False)
    flushes_subnormals: bool = False  # declared flush-to-zero: judged in the format without subnormals
    measured_on: str | None = None  # a peer's: the version of its library its declaration was measured on

    def declares(self, family: str, dtype: str) -> bool:
        """Whether a failure on ``family`` in ``dtype`` (a format or signature) is expected (``family`` or
        ``family@dtype`` declared)."""
        return family in self.unstable_on or f"{family}@{dtype}" in self.unstable_on

    def supports(self, sig: str) -> bool:
        """Whether the registration lists signature ``sig`` (canonical spelling); with no list, every format
        alone (``float32``, not ``bfloat16:float32``: code returns its input's format unless it says so).  A
        user's code is judged in whatever signature the user names."""
        if self.dtypes is None:
            return self.origin == "user" or ":" not in sig
        return sig in self.dtypes

    def drift(self, failed_undeclared) -> str:
        """For a peer measured on another version of its library than the installed one: what its undeclared
        failures say (``"differs from the measurement on PyTorch 2.13.0: now fails g_huge (installed 2.14.1)"``);
        ``""`` when they are failures (no other version, or not a peer)."""
        if not failed_undeclared or self.origin != "peer" or not self.measured_on:
            return ""
        now = libraries.version(self.library)
        if now == self.measured_on:
            return ""
        title = libraries.TABLE[self.library].title or self.library
        return (f"differs from the measurement on {title} {self.measured_on}: now fails "
                f"{', '.join(failed_undeclared)} (installed {now})")

    def judge(self, failed, dtype: str) -> tuple[bool, str]:
        """``(meets its expectation, drift)`` for the families that ``failed`` in ``dtype``: every one declared,
        or, for a peer on another version of its library than it was measured on, drift (see :meth:`drift`)."""
        undeclared = [f for f in failed if not self.declares(f, dtype)]
        drift = self.drift(undeclared)
        return not undeclared or bool(drift), drift

    @property
    def expectation(self) -> str:
        base = "stable" if not self.unstable_on else "unstable on " + ", ".join(self.unstable_on)
        base += "; flushes subnormals (declared: judged without them)" if self.flushes_subnormals else ""
        return base + (f" (measured on {self.measured_on})" if self.measured_on and self.unstable_on else "")

    def as_dict(self) -> dict:
        return {"name": self.name, "function": self.function, "library": self.library,
                "description": self.description, "expectation": self.expectation,
                "unstable_on": list(self.unstable_on), "origin": self.origin,
                "dtypes": list(self.dtypes) if self.dtypes else None, "flushes_subnormals": self.flushes_subnormals,
                "measured_on": self.measured_on, "entry_point": self.extra.get("entry_point")}


_REGISTRY: dict[str, Implementation] = {}
_LOADED = False


def register(function: str, name: str, description: str, *, library: str = "numpy", unstable_on=(),
             dtypes=None, origin: str = "builtin", flushes_subnormals: bool = False, measured_on: str | None = None):
    """Decorator registering ``fn`` as implementation ``name`` of ``function``.

    ``dtypes``: the format signatures it supports (``"float32"``, ``"bfloat16:float32"``: bfloat16 in, float32
    out; see ``stability.formats.Signature``); None: every format, output in the input's.  Its mixed signatures
    are verified by default beside float32 and float64.
    ``flushes_subnormals=True`` declares flush-to-zero (fast-math kernels, DAZ/FTZ modes): its outputs are then
    judged in the format without subnormals, and every record and the report say so.
    ``measured_on``: for a peer, the version of its library that ``unstable_on`` was measured on.  On another
    installed version an undeclared failure is *drift* (the record says what changed), not a failure, unless the
    command is given ``--strict-peers``."""
    get(function)
    if library not in LIBRARIES:
        raise UsageError(f"unknown array library {library!r}: use one of {', '.join(LIBRARIES)}")
    _check_declared(function, name, unstable_on)
    if dtypes:
        from .formats import signature

        dtypes = [signature(d, function).name for d in dtypes]

    source = _SOURCE[-1] if _SOURCE else None
    if source is not None:  # another package's registration: it may not replace one already made
        if origin == "builtin":
            origin = "plugin"
        if name in _REGISTRY:
            owner = _REGISTRY[name].extra.get("entry_point") or "softmax-stability"
            short = name.split(".")[-1]
            raise UsageError(f"{name!r} is registered already (by {owner}): register it under a name of the "
                             f"package's own, e.g. 'mylib.{short}'")

    def deco(fn):
        _REGISTRY[name] = Implementation(name, function, fn, library, description, tuple(unstable_on),
                                         tuple(dtypes) if dtypes else None, origin,
                                         {"entry_point": source} if source else {},
                                         flushes_subnormals=flushes_subnormals, measured_on=measured_on)
        return fn

    return deco


def _check_declared(function: str, name: str, unstable_on) -> None:
    """Every ``unstable_on`` entry names a family of the function (``family`` or ``family@dtype``): a misspelled
    one would declare nothing and turn an expected failure into a red run, or hide nothing it meant to."""
    from .formats import signature
    from .strategies import families

    known = families(function, slow=True, optional=True)
    for entry in unstable_on:
        fam, _, dtype = str(entry).partition("@")
        if fam not in known:
            raise UsageError(f"{name}: unstable_on names {fam!r}, not an input family of {function}"
                             f"{did_you_mean(fam, known)}: use one of {', '.join(known)}")
        if dtype:
            try:
                canonical = signature(dtype, function).name
            except UsageError as exc:
                raise UsageError(f"{name}: unstable_on names dtype {dtype!r} in {entry!r}: {exc}") from None
            if canonical != dtype:
                raise UsageError(f"{name}: write {fam}@{canonical} for {entry!r} (the signature's canonical spelling)")


def _load_builtin() -> None:
    """Load every registration once: each entry point of :data:`ENTRY_POINT_GROUP`, the suite's own first (a
    checkout run without ``pip install -e .`` has no entry points: its package is imported by name)."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    from importlib.metadata import entry_points

    importlib.import_module(BUILTIN_MODULE)  # the suite's own (its entry point names it): a failure here is loud
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        if ep.value == BUILTIN_MODULE:
            continue
        where = f"{ep.name} = {ep.value}" + (f" ({ep.dist.name} {ep.dist.version})" if ep.dist else "")
        _SOURCE.append(where)
        before = set(_REGISTRY)
        try:
            loaded = ep.load()
            if callable(loaded) and not isinstance(loaded, type(sys)):
                loaded()
        except (Exception, SystemExit) as exc:  # another package's code: its failure leaves it out, said why
            for name in set(_REGISTRY) - before:  # what it registered before it failed goes too: all or none
                del _REGISTRY[name]
            LOAD_ERRORS[where] = f"{type(exc).__name__}: {exc}"
            warnings.warn(f"the entry point {where} of {ENTRY_POINT_GROUP} could not be loaded and its "
                          f"implementations are left out: {type(exc).__name__}: {exc}", RegistrationWarning,
                          stacklevel=2)
        finally:
            _SOURCE.pop()


def implementations(function: str | None = None) -> list[Implementation]:
    """Registered implementations (of ``function``, if given), ours first then peers, by name."""
    _load_builtin()
    if function is not None:
        get(function)
    impls = [i for i in _REGISTRY.values() if function is None or i.function == function]
    return sorted(impls, key=lambda i: (i.function, i.origin != "builtin", i.name))


def _from_module(module, attr: str, spec: str, where: str):
    """``module.attr`` (dotted); ``where``: the module or file as the user wrote it, for the message."""
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_") and callable(getattr(obj, n, None))]
            raise SpecError(f"{spec!r}: {where!r} has no attribute {part!r}{did_you_mean(part, names)}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise SpecError(f"{spec!r} is not callable (it is a {type(obj).__name__})")
    return obj


def _load_file(path: Path):
    name = f"_stability_user_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SpecError(f"cannot load {str(path)!r} as Python: give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's module failed at import: say so, with the reason
        del sys.modules[name]
        raise SpecError(f"importing {str(path)!r} failed: {type(exc).__name__}: {exc}") from exc
    return module


def resolve(spec: str, function: str | None = None) -> Implementation:
    """The :class:`Implementation` that ``spec`` names (see the module docstring for the three forms).

    ``function`` is required for code that is not registered (which function it computes) and checked against
    a registered implementation's own function.  Raises :class:`SpecError` with the fix otherwise.
    """
    _load_builtin()
    if function is not None:
        get(function)
    if spec in _REGISTRY:
        impl = _REGISTRY[spec]
        if function is not None and impl.function != function:
            raise SpecError(f"{spec!r} implements {impl.function}, not {function}: "
                            f"pick one of `stability list --function {function}`")
        return impl
    if ":" not in spec:
        if spec.endswith(".py") or Path(spec).is_file():
            raise SpecError(f"{spec!r} names a file but not the function in it: add the function's name "
                            f"after a colon, {spec}:NAME")
        names = [n for n in _REGISTRY if function is None or _REGISTRY[n].function == function]
        raise SpecError(f"no registered implementation {spec!r}{did_you_mean(spec, names or _REGISTRY)}: run "
                        "`stability list`, or give package.module:attr or path/to/file.py:attr")
    where, attr = spec.rsplit(":", 1)
    if not attr:
        raise SpecError(f"{spec!r} names no attribute: write {where}:function_name")
    is_file = where.endswith(".py") or "/" in where or "\\" in where
    if is_file:
        path = Path(where)
        if not path.is_file():
            raise SpecError(f"no such file {where!r}: check the path (relative to {Path.cwd()})")
        fn = _from_module(_load_file(path), attr, spec, where)
    else:
        try:
            module = importlib.import_module(where)
        except Exception as exc:
            raise SpecError(f"cannot import {where!r} ({type(exc).__name__}: {exc}): install it or fix the "
                            "name") from exc
        fn = _from_module(module, attr, spec, where)
    if function is None:
        raise SpecError(f"{spec!r} is not registered: say which function it computes with --function "
                        f"({', '.join(FUNCTIONS)})")
    return user_implementation(spec, function, fn, None if is_file else where)


def user_implementation(name: str, function: str, fn: Callable, where: str | None = None) -> Implementation:
    """The :class:`Implementation` of a user's callable, adapted to the calling convention (``stability.adapt``:
    its array library, ``dim=`` for ``axis=``, per-lane calls, ``reduction='none'``) and expected to be stable."""
    library = library_of(fn, where)
    call, note = adapt(fn, function, library)
    description = (fn.__doc__ or "").strip().split("\n")[0]
    if note:
        description = f"{description} [{note}]" if description else f"[{note}]"
    flush = bool(getattr(fn, "__stability_flushes_subnormals__", False))
    return Implementation(name, function, call, library, description, (), None, "user", {"adapted": note},
                          flushes_subnormals=flush)
