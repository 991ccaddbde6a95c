"""Commands over pipelines and what they run: stage definitions (`init|render|apply`),
`pipeline ...`/`run`, `datums`, jobs, datum lists and logs, `status` and `dag`."""
