"""What the CLI side (engine, workflows) and the workers must agree on, in one place.

Standard library only, and nothing else from capstone_cli: the workers import it inside the
worker image, and the CLI imports it without TensorFlow. import-linter keeps it that way (see
pyproject.toml). Import the modules themselves; this package re-exports nothing.
"""
