"""`python -m app` is the `devex` command."""

from app.cli import main

main()
