"""Commands about this machine and its store rather than the DAG: `doctor`, `fsck`, image
mappings, and the two servers (`ui`, the dashboard; `serve`, pachd's API)."""
