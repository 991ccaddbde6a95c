"""capstone: Pachyderm's tutorial-201 captioning pipelines, locally or on a cluster."""

__version__ = "0.1.0"
