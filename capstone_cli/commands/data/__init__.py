"""Commands over Pachyderm's data model: projects, repos, branches, and files in commits
(`capstone project|repo|branch`, `put|get|ls|commits|delete file`)."""
