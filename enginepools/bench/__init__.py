"""Benchmarks, Go-style: the runner, Python benchmarks, result files, the Go
benchmark text format, the machine header and the noise checks."""
