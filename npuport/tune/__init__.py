"""`npuport tune`: build the smallest, fastest variant of a precision that passes the decision gate, guided by
doctor: quantize (int8: calibrated static QDQ) or convert (fp16) everything, then keep in fp32 the block doctor finds
first past the budget, until the precision's profile holds."""
