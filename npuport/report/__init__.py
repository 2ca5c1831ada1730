"""`npuport report`: one page per model — size, speed, parity and F1 of every variant side by side, and a plot."""
