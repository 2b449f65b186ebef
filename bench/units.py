"""Unit conversions used across the benchmark (standard library only, so probes stay light)."""

KIB = 1024
MIB = 1 << 20
MS_PER_S = 1000.0
NS_PER_MS = 1e6
NS_PER_S = 1e9
GB = 1e9
