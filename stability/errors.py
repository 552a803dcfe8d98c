"""The suite's own exception for bad input: a message that says how to fix the call.

It subclasses ValueError, so library callers can catch either; the CLI turns it (and only it) into exit
status 2 with no traceback, so that a bug in the suite itself still fails loudly.
"""


class UsageError(ValueError):
    """Bad input: unknown function or dtype, unimportable SPEC, out-of-range targets, shape mismatch..."""


def did_you_mean(word: str, choices, n: int = 3) -> str:
    """`` (did you mean 'a' or 'b'?)`` with the names in ``choices`` nearest to ``word``; ``""`` when none is near."""
    import difflib

    near = difflib.get_close_matches(str(word), [str(c) for c in choices], n=n, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in near)}?)" if near else ""
