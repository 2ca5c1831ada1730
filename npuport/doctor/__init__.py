"""`npuport doctor`: when parity fails, say where. The variant and the fp32 eager CPU reference run on the same inputs
with every layer exposed, matched by the model's own module names; the table shows where the error enters and how it
grows with depth."""
