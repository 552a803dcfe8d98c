"""Blanchard, Higham & Higham (2021), Sec. 6, reproduced on the vendored MNIST logits."""

import numpy as np
import pytest

from stability import paper


@pytest.fixture(scope="module")
def fp16():
    return paper.run("float16")


def test_data_is_vendored_with_its_licence():
    X = paper.load_logits()
    assert X.shape == (2500, 10) and np.isfinite(X).all()
    from importlib import resources

    lic = (resources.files("stability") / "data" / "mnist_presoftmax.LICENSE.txt").read_text()
    assert "Higham" in lic


def test_fp16_overflow_counts_match_the_paper(fp16):
    for alg, count in paper.PUBLISHED_OVERFLOWS_FP16.items():
        assert fp16.overflows[alg] == count
    assert fp16.compared.sum() == 2500 - 475


def test_errors_lie_within_the_leading_order_bounds(fp16):
    for row in fp16.summary():
        assert row["within_bound"] == 1.0, row


def test_division_free_softmax_is_the_less_accurate(fp16):
    rows = {r["algorithm"]: r for r in fp16.summary()}
    assert rows["shifted alt. softmax"]["max_err_u"] > 2 * rows["shifted softmax"]["max_err_u"]


def test_bfloat16_never_overflows():
    res = paper.run("bfloat16", logits=paper.load_logits()[:200])
    assert all(v == 0 for v in res.overflows.values())
