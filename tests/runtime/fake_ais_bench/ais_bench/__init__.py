"""Stand-in for msit's ais_bench (see infer/interface.py)."""
