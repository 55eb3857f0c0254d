"""Benchmarks: accuracy on the labelled clips, and CPU/memory cost. Each is a script; see README."""
