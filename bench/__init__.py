"""Benchmarks: what users pay for, measured side by side with a baseline in one run.

Run them with ``python -m bench`` (see docs/performance.md). Each benchmark prints one
summary line ``name: ours=… baseline=… ratio=…`` and writes ``<out>/<name>.json``.
"""
