"""SPEC resolution and the registry's contents."""

import pytest

from stability import registry
from stability.functions import FUNCTIONS
from stability.registry import SpecError, resolve


def test_every_function_has_a_stable_and_an_unstable_builtin():
    for f in FUNCTIONS:
        impls = [i for i in registry.implementations(f) if i.origin == "builtin"]
        assert any(i.expectation == "stable" for i in impls), f
        assert any(i.unstable_on for i in impls), f
        for i in impls:
            assert i.description and i.library in ("numpy", "array_api", "cupy")


def test_resolve_three_forms(tmp_path):
    assert resolve("softmax.shifted").function == "softmax"
    via_module = resolve("implementations.softmax:shifted", "softmax")
    assert via_module.fn is resolve("softmax.shifted").fn and via_module.origin == "user"
    f = tmp_path / "mine.py"
    f.write_text("import numpy as np\ndef sm(x, axis=-1):\n    '''my softmax'''\n    return x\n")
    impl = resolve(f"{f}:sm", "softmax")
    assert impl.description == "my softmax" and impl.name == f"{f}:sm"


@pytest.mark.parametrize("spec,function,match", [
    ("softmax.nope", "softmax", "no registered implementation"),
    ("softmax.shifted", "logsumexp", "implements softmax, not logsumexp"),
    ("no/such/file.py:f", "softmax", "no such file"),
    ("implementations.softmax:missing", "softmax", "has no attribute 'missing'"),
    ("not_a_module_xyz:f", "softmax", "cannot import 'not_a_module_xyz'"),
    ("implementations.softmax:CHUNK", "softmax", "is not callable"),
    ("implementations.softmax:shifted", None, "say which function"),
    ("implementations.softmax:", "softmax", "names no attribute"),
])
def test_bad_specs_say_how_to_fix(spec, function, match):
    with pytest.raises(SpecError, match=match):
        resolve(spec, function)


def test_a_user_file_that_fails_to_import(tmp_path):
    f = tmp_path / "broken.py"
    f.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(SpecError, match="importing .* failed: RuntimeError: boom"):
        resolve(f"{f}:f", "softmax")


def test_a_family_can_be_declared_for_one_dtype():
    from stability.registry import Implementation

    impl = Implementation("x", "softmax", lambda x, axis=-1: x, unstable_on=("overflow", "lengths@bfloat16"))
    assert impl.declares("overflow", "float32") and impl.declares("lengths", "bfloat16")
    assert not impl.declares("lengths", "float32") and not impl.declares("ties", "bfloat16")


def test_a_flush_is_declared_by_an_attribute_and_shown_in_the_expectation(tmp_path):
    f = tmp_path / "ftz.py"
    f.write_text("import numpy as np\n"
                 "def sig(x):\n"
                 "    e = np.exp(-np.abs(x))\n"
                 "    s = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)\n"
                 "    return np.where(s < np.finfo(x.dtype).tiny, 0, s).astype(x.dtype)\n"
                 "def sig_ftz(x):\n"
                 "    return sig(x)\n"
                 "sig_ftz.__stability_flushes_subnormals__ = True\n")
    from stability.verify import verify
    plain, declared = resolve(f"{f}:sig", "sigmoid"), resolve(f"{f}:sig_ftz", "sigmoid")
    assert not plain.flushes_subnormals and declared.flushes_subnormals
    assert "flushes subnormals" in declared.expectation and declared.as_dict()["flushes_subnormals"]
    assert verify(plain, "float32", families=["thresholds"], seed=0).verdict == "fail"
    rec = verify(declared, "float32", families=["thresholds"], seed=0)
    assert rec.verdict == "pass" and "flushes subnormals" in rec.expectation
