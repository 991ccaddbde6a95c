"""Workflows over pipelines: create them from stage definitions or spec files, list a spec's
datums, follow the jobs they trigger, and report what they are doing and why a job failed."""
