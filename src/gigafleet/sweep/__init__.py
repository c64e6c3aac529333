"""Sweeps: run a grid of planning problems through one executor, into Parquet shards."""
