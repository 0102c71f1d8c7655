"""`python -m uptake` runs the CLI."""

from uptake.cli import main

main()
