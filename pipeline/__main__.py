from pipeline.cli import entrypoint

entrypoint()
