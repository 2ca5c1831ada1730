"""`python -m npuport.cli …` runs the `npuport` command."""

from npuport.cli import app

app()
