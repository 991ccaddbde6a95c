# The worker image named in the rendered specs (defaults.yaml: image + tag; the packaged one is
# capstone_cli/specs/definitions/defaults.yaml).
# Build: docker build -t capstone-worker:0.1.0 .
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2

WORKDIR /app

# Pinned versions (constraints.txt): the ones this project is tested with.
COPY pyproject.toml README.md constraints.txt ./
COPY capstone_cli ./capstone_cli
COPY workers ./workers
RUN pip install -c constraints.txt ".[ml]"

RUN useradd --create-home --uid 1000 worker
USER worker

# Pachyderm runs transform.cmd, e.g. ["python3", "-m", "workers.images", "--out", "/pfs/out"].
CMD ["python3", "-c", "import workers; print('capstone worker image')"]
