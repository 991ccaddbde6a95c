"""`python -m capstone_cli` runs the CLI."""

from capstone_cli.app import main

main()
