"""The suite's own exception for bad input: a message that says how to fix the call.

It subclasses ValueError, so library callers can catch either; the CLI turns it (and only it) into exit
status 2 with no traceback, so that a bug in the suite itself still fails loudly.
"""


class UsageError(ValueError):
    """Bad input: unknown function or dtype, unimportable SPEC, out-of-range targets, shape mismatch..."""
