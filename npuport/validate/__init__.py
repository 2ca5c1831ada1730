"""Parity checks between a variant on a device and the fp32 eager CPU reference."""
