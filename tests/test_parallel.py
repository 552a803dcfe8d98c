"""Checks verified on a Dask local cluster give the same records, in the same order, as one after another."""

from stability import parallel


def test_workers_give_the_records_of_a_serial_run_in_task_order():
    tasks = [("softmax.naive", "softmax", "float32"), ("softmax.shifted", "softmax", "float64"),
             ("sigmoid.stable", "sigmoid", "float32")]
    options = dict(examples=3, seed=0, shrink=False, families=["standard", "wide"])
    seen = []
    serial = parallel.run(tasks, workers=1, progress=seen.append, **options)
    spread = parallel.run(tasks, workers=2, **options)
    assert len(seen) == 3
    key = lambda r: (r["implementation"], r["dtype"], r["verdict"], r["max_ulp"], r["examples"])  # noqa: E731
    assert [key(r) for r in spread] == [key(r) for r in serial]
    assert [r["implementation"] for r in spread] == [t[0] for t in tasks]
    assert serial[0]["verdict"] == "fail" and serial[1]["verdict"] == "pass"


def test_a_worker_that_dies_is_a_failing_record_and_the_rest_still_come_back(tmp_path):
    # issue 15: os._exit (or a segfault) inside the code under test takes its worker process with it
    f = tmp_path / "dies.py"
    f.write_text("import os\n\ndef softmax(x, axis=-1):\n    os._exit(3)\n")
    tasks = [(f"{f}:softmax", "softmax", "float32"), ("softmax.shifted", "softmax", "float32")]
    recs = parallel.run(tasks, workers=2, examples=2, seed=0, shrink=False, families=["standard"])
    assert recs[0]["verdict"] == "fail" and not recs[0]["meets_expectation"]
    assert "worker process died" in recs[0]["counterexample"]["reason"]
    assert recs[1]["verdict"] == "pass"
