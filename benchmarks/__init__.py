"""Side-by-side benchmarks: one process, interleaved rounds, medians and ratios (not tests)."""
