"""pachd's gRPC API over the embedded engine (`capstone serve`)."""
