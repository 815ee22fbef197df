from pipeline.cli import entrypoint

if __name__ == "__main__":  # a spawned child process (the tag stage's) imports this module too
    entrypoint()
