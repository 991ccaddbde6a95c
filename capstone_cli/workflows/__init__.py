"""The workflows behind `train`, `predict`, `apply` and `status`: one core function each,
written against the Backend interface so they run the same on both backends."""
