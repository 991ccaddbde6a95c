"""The library API: `train`, `predict`, `apply_stages`, `status_report`, each written against the
Backend interface so they run the same on both backends, and each reporting through a
`progress.Progress` rather than printing. The CLI's commands are thin adapters over them."""
