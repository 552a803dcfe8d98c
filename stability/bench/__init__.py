"""CPU benchmarks: interleaved timing (``timing``), the machine's own limits (``roofline``), the sweep that
produces the tidy table (``sweep``) and its storage (``table``)."""
