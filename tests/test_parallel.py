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
