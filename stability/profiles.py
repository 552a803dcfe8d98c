"""Hypothesis settings profiles of the suite: ``dev`` (quick), ``ci`` (deterministic, bounded), ``nightly``.

They are registered on import and loaded explicitly with :func:`load`; nothing relies on Hypothesis'
auto-loading of its own ``ci`` profile.
"""

from hypothesis import HealthCheck, settings

from .errors import UsageError

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

PROFILES = {
    "dev": dict(max_examples=60, **_COMMON),
    "ci": dict(max_examples=100, derandomize=True, print_blob=True, **_COMMON),
    "nightly": dict(max_examples=2000, **_COMMON),
}

for _name, _kw in PROFILES.items():
    settings.register_profile(_name, **_kw)


def load(name: str) -> None:
    if name not in PROFILES:
        raise UsageError(f"unknown Hypothesis profile {name!r}: use one of {', '.join(PROFILES)}")
    settings.load_profile(name)
