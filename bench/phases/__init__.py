"""The measurements of the benchmark, run from the bench process; ``bench.run_bench`` sequences them."""
