"""The pipeline: the stage graph, the in-process run, the stage process, the DVC compiler."""
