"""Scripts the benchmark starts as subprocesses, each as ``python -m bench.probes.<name>``
from the project directory; ``protocol`` is what they share with the bench process."""
