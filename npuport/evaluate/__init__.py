"""`npuport eval`: task accuracy (accuracy, micro/macro F1, per-label P/R/F1) of every variant beside the fp32 reference."""
