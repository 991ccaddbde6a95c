"""Workflows about this machine and its store: how datum processes see `/pfs` (`doctor`),
store checks and repairs (`fsck`), and image -> code directory mappings."""
