"""Mixed precision: format signatures (IN:OUT, x:g:result), the truth in the output format, the FP8 formats and
their policy, the families that tell a working format apart, and the careful and planted kernels."""

import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest

import handmade as hm
from stability import reference, registry, strategies
from stability.errors import UsageError
from stability.formats import ALL_FORMATS, round_float64, signature
from stability.metrics import judge
from stability.registry import Implementation
from stability.testing import assert_example
from stability.verify import dtypes_for, verify

BF16, E4M3, E5M2 = (np.dtype(getattr(ml_dtypes, n)) for n in ("bfloat16", "float8_e4m3fn", "float8_e5m2"))


def _user(function, fn):
    return Implementation(fn.__name__, function, fn, origin="user")


# --- signatures ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,function,parts,canonical", [
    ("bfloat16", "softmax", ("bfloat16", "bfloat16", None), "bfloat16"),
    ("bfloat16:bfloat16", "softmax", ("bfloat16", "bfloat16", None), "bfloat16"),
    ("bfloat16:float32", "softmax", ("bfloat16", "float32", None), "bfloat16:float32"),
    ("float32:float8_e4m3fn", "softmax", ("float32", "float8_e4m3fn", None), "float32:float8_e4m3fn"),
    # a gradient's IN:OUT is autocast's: x in IN, the cotangent in OUT, the gradient in x's format
    ("bfloat16:float32", "softmax_vjp", ("bfloat16", "bfloat16", "float32"), "bfloat16:float32"),
    ("bfloat16:float32:float32", "softmax_vjp", ("bfloat16", "float32", "float32"), "bfloat16:float32:float32"),
    ("bfloat16:float32:bfloat16", "softmax_vjp", ("bfloat16", "bfloat16", "float32"), "bfloat16:float32"),
    ("float32", "cross_entropy_vjp", ("float32", "float32", "float32"), "float32"),
])
def test_signatures_parse_to_their_formats_and_one_canonical_spelling(text, function, parts, canonical):
    sig = signature(text, function)
    got = (sig.input.name, sig.output.name, None if sig.cotangent is None else sig.cotangent.name)
    assert got == parts and sig.name == canonical
    assert signature(sig.name, function) == sig


@pytest.mark.parametrize("text,function,message", [
    ("bf16:float32", "softmax", "did you mean 'bfloat16'"),
    ("float32:", "softmax", "is not IN, IN:OUT"),
    ("float32:float32:float32", "softmax", "only a gradient has"),
    ("float16:float32", "argmax", "returns indices"),
    ("a:b:c:d", None, "is not IN, IN:OUT"),
])
def test_a_bad_signature_says_what_is_accepted(text, function, message):
    with pytest.raises(UsageError, match=message):
        signature(text, function)


def test_registrations_are_checked_and_spelt_canonically():
    assert registry.resolve("softmax.mixed").dtypes == ("bfloat16:float32", "float16:float32", "float32")
    assert dtypes_for(registry.resolve("softmax.mixed")) == ["float32", "bfloat16:float32", "float16:float32"]
    assert dtypes_for(registry.resolve("softmax.mixed_narrow")) == ["bfloat16", "float16"]
    # plain code is not judged in a mixed signature unless it says so; a user's code is, when the user asks
    assert dtypes_for(registry.resolve("softmax.shifted"), ["bfloat16:float32"]) == []
    assert dtypes_for(_user("softmax", hm.softmax_f32_out), ["bfloat16:float32"]) == ["bfloat16:float32"]
    with pytest.raises(UsageError, match="canonical"):
        registry.register("softmax", "x.bad", "", unstable_on=("standard@bfloat16:bfloat16",))


# --- the truth in the output format -------------------------------------------------------------------------

def test_a_widening_signature_rounds_the_exact_value_of_the_narrow_inputs_once():
    x = np.array([[0.1, 2.3, -1.7, 5.0]], dtype=BF16)
    wide = reference.evaluate("softmax", x, out="float32")
    assert wide.output().dtype == np.float32
    # the same values given as float32 data: the same truth, rounded once to float32
    same = reference.evaluate("softmax", x.astype(np.float32))
    assert np.array_equal(wide.value, same.value)
    narrow = reference.evaluate("softmax", x)
    assert np.array_equal(narrow.value, round_float64(wide.exact_hi, ALL_FORMATS["bfloat16"]))


def test_a_gradient_takes_a_cotangent_in_its_own_format():
    x = np.array([1.0, 2.0, 3.0], dtype=BF16)
    g = np.array([0.1, -0.3, 0.7], dtype=np.float32)
    r = reference.evaluate("softmax_vjp", x, g, out="bfloat16")
    wide = reference.evaluate("softmax_vjp", x.astype(np.float32), g)
    assert r.output().dtype == BF16
    assert np.array_equal(r.value, round_float64(wide.exact_hi, ALL_FORMATS["bfloat16"]))
    with pytest.raises(UsageError, match="x:g:result"):
        reference.evaluate("softmax_vjp", x, g)  # without a signature, a cotangent of another format is a mistake


def test_exact_functions_stay_exact_in_another_format():
    x = np.array([1.1, 2.3], dtype=np.float32)
    r = reference.evaluate("max", x, out="bfloat16")
    assert r.value[0, 0] == r.exact_hi[0, 0] == float(np.float32(2.3).astype(BF16))


# --- FP8 --------------------------------------------------------------------------------------------------

def test_fp8_rounding_agrees_with_ml_dtypes_casts_of_float32():
    x = np.concatenate([np.linspace(-7e4, 7e4, 20001), np.linspace(-1, 1, 20001), [464, 465, 61439, 61440]])
    x = x.astype(np.float32)
    for dt in (E4M3, E5M2):
        a = x.astype(dt).astype(np.float64)
        b = round_float64(x.astype(np.float64), ALL_FORMATS[dt.name])
        assert np.array_equal(a, b, equal_nan=True), dt


def test_e4m3fn_overflow_is_nan_and_the_saturated_max_is_also_accepted():
    # softplus(300) = 300 rounds to 288; 600 and +inf overflow the format's 448: NaN (ml_dtypes' cast), or 448
    # saturated (PyTorch 2.13's cast, OCP's satfinite); a wrong sign, or a number that is not the max, fails
    x = np.array([300.0, 600.0, np.inf, -np.inf], dtype=np.float32)
    ref = reference.evaluate("softplus", x, out="float8_e4m3fn")
    assert np.array_equal(ref.value.ravel(), [288.0, np.nan, np.nan, 0.0], equal_nan=True)
    for got, ok in (([288, np.nan, np.nan, 0], [1, 1, 1, 1]), ([288, 448, 448, 0], [1, 1, 1, 1]),
                    ([288, -448, 448, 0], [1, 0, 1, 1]), ([288, 416, 0, 0], [1, 0, 0, 1])):
        j = judge(np.array(got, dtype=np.float32).astype(E4M3), ref)
        assert j.passed.ravel().tolist() == [bool(v) for v in ok], got


def test_e4m3fn_has_no_infinity_so_an_infinite_answer_is_nan():
    ref = reference.evaluate("log_softmax", np.array([1.0, 2.0, -np.inf], dtype=np.float32), out="float8_e4m3fn")
    assert np.isnan(ref.value[0, 2]) and np.isfinite(ref.value[0, :2]).all()
    # and inputs in e4m3fn hold no mask or +inf: the families made of them do not apply
    fams = strategies.families("softmax", signature="float8_e4m3fn:float32")
    assert not set(strategies.INFINITY_FAMILIES) & set(fams) and "shift_rounding" in fams


@pytest.mark.parametrize("sig", ["float32:float8_e4m3fn", "float32:float8_e5m2", "bfloat16:float8_e4m3fn"])
def test_careful_fp8_probabilities_pass(sig):
    def softmax_to(x, axis=-1):
        return hm.softmax_f32_out(x, axis).astype(signature(sig).output.dtype)
    assert verify(_user("softmax", softmax_to), sig, seed=1).verdict == "pass"


# --- careful and careless kernels ----------------------------------------------------------------------------

def test_the_upcast_fails_where_its_own_format_passes_and_the_counterexample_says_so():
    assert verify(_user("softmax", hm.softmax_in_input_format), "bfloat16", seed=0).verdict == "pass"
    rec = verify(_user("softmax", hm.softmax_upcast), "bfloat16:float32", seed=0)
    assert rec.verdict == "fail" and rec.dtype == "bfloat16:float32"
    ce = rec.counterexample
    assert ce["narrow"]["format"] == "bfloat16" and ce["narrow"]["passes"], ce.get("narrow")
    assert "signature='bfloat16:float32'" in ce["reproducer"]
    with pytest.raises(AssertionError, match="error beyond the allowance"):
        exec(ce["reproducer"].replace("'softmax_upcast'", "hm.softmax_upcast"), {"hm": hm})


@pytest.mark.parametrize("function,fn", [("softmax", hm.softmax_f32_out), ("cross_entropy", hm.cross_entropy_f32)])
@pytest.mark.parametrize("sig", ["bfloat16:float32", "float16:float32"])
def test_careful_widening_kernels_pass(function, fn, sig):
    rec = verify(_user(function, fn), sig, seed=2)
    assert rec.verdict == "pass", (rec.failed_families, rec.counterexample)


def test_the_mixed_families_alone_find_what_they_are_for():
    for function, fn, family in (("log_softmax", hm.log_softmax_shift_in_input_format, "shift_rounding"),
                                 ("cross_entropy", hm.cross_entropy_through_probability, "target_underflow")):
        for seed in range(3):
            rec = verify(_user(function, fn), "bfloat16:float32", families=[family], seed=seed, shrink=False)
            assert rec.verdict == "fail", (fn.__name__, seed)


def test_a_result_in_the_wrong_format_names_the_signature():
    rec = verify(_user("softmax", hm.softmax_in_input_format), "bfloat16:float32", families=["standard"])
    assert "expected float32 (the signature asks for float32 results)" in rec.counterexample["reason"]


def test_assert_example_checks_the_signature_against_the_data():
    x = np.array([0.0, 1.0], dtype=BF16)
    assert_example("softmax", hm.softmax_f32_out, x, axis=0, signature="bfloat16:float32")
    with pytest.raises(UsageError, match="reads float16 data"):
        assert_example("softmax", hm.softmax_f32_out, x, axis=0, signature="float16:float32")


# --- the registered mixed implementations: tests/test_implementations.py checks every signature they declare ----

def test_every_function_with_a_mixed_version_declares_mixed_signatures():
    mixed = [i for i in registry.implementations() if i.name.endswith(("mixed", "mixed_fused", "fast_mixed"))]
    assert {i.function for i in mixed} >= {"softmax", "log_softmax", "logsumexp", "cross_entropy", "softmax_vjp",
                                           "log_softmax_vjp", "logsumexp_vjp", "cross_entropy_vjp"}
    assert all(any(":" in d for d in i.dtypes) for i in mixed)


# --- the command line ------------------------------------------------------------------------------------------

def _cli(*args):
    return subprocess.run([sys.executable, "-m", "stability", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("args,message", [
    (["--function", "softmax", "--dtype", "bf16:float32"], "did you mean 'bfloat16'"),
    (["--function", "softmax", "--dtype", "float32:float32:float32"], "only a gradient has"),
    (["--function", "argmax", "--dtype", "float16:float32"], "returns indices"),
    (["--function", "softmax", "--impl", "softmax.shifted", "--dtype", "bfloat16:float32"], "nothing to verify"),
])
def test_the_cli_refuses_a_bad_signature_with_exit_2_and_runs_nothing(args, message, tmp_path):
    r = subprocess.run([sys.executable, "-m", "stability", "verify", *args], capture_output=True, text=True,
                       timeout=300, cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "results").exists()


# --- exhaustive sweeps ----------------------------------------------------------------------------------------

def test_every_elementwise_implementation_meets_its_expectation_on_every_fp8_input():
    from stability import sweep
    from stability.functions import FUNCTIONS

    checked = 0
    for name, f in FUNCTIONS.items():
        for impl in registry.implementations(name) if f.elementwise else ():
            if impl.library != "numpy":
                continue
            for fmt in ("float8_e4m3fn", "float8_e5m2"):
                c = sweep.run_chunk(sweep.Plan(name, impl.name, fmt, 256), 0, 256)
                assert c["inputs"] == 256 * len(sweep.fixed_arguments(name))
                assert c["failed"] == 0 or sweep.declared_failures(impl, fmt), (impl.name, fmt, c["worst"][:2])
                checked += 1
    assert checked >= 40


def _sigmoid_f32(x):
    x = x.astype(np.float32)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, z) / (1 + z)


def _sigmoid_upcast(x):
    return _sigmoid_f32(x).astype(x.dtype).astype(np.float32)


def test_a_widening_sweep_covers_every_bfloat16_input_and_tells_the_upcast_apart(monkeypatch):
    from stability import sweep

    def resolve(spec, function):
        return {"f32": _user("sigmoid", _sigmoid_f32), "up": _user("sigmoid", _sigmoid_upcast)}[spec]

    monkeypatch.setattr(registry, "resolve", resolve)
    good = sweep.run_chunk(sweep.Plan("sigmoid", "f32", "bfloat16:float32", 1 << 16), 0, 1 << 16)
    bad = sweep.run_chunk(sweep.Plan("sigmoid", "up", "bfloat16:float32", 1 << 16), 0, 1 << 16)
    assert good["inputs"] == bad["inputs"] == 65536
    assert good["failed"] == 0 and bad["failed"] > 1000, (good["worst"][:1], bad["failed"])


def test_the_sweep_command_takes_a_signature_and_refuses_one_it_cannot_sweep(tmp_path):
    r = subprocess.run([sys.executable, "-m", "stability", "sweep", "--function", "sigmoid", "--impl",
                        "sigmoid.stable", "--dtype", "float8_e4m3fn", "--scheduler", "synchronous"],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0 and "256 inputs" in r.stdout, r.stdout + r.stderr
    r = subprocess.run([sys.executable, "-m", "stability", "sweep", "--function", "sigmoid", "--impl",
                        "sigmoid.stable", "--dtype", "float64:float32"], capture_output=True, text=True, timeout=300,
                       cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr


def test_fp8_without_ml_dtypes_says_how_to_get_it(monkeypatch):
    from stability import formats

    monkeypatch.setattr(formats, "_ML_DTYPES", {})
    for text in ("float8_e4m3fn", "float32:float8_e5m2", "bfloat16:float32"):
        with pytest.raises(UsageError, match="install ml_dtypes"):
            signature(text, "softmax")
    assert signature("float16:float32", "softmax").name == "float16:float32"  # the rest still work


def test_the_fp8_attention_softmax_is_registered_in_its_signatures():
    impl = registry.resolve("softmax.to_e4m3fn")
    assert dtypes_for(impl) == ["float32:float8_e4m3fn", "bfloat16:float8_e4m3fn", "float16:float8_e4m3fn"]
