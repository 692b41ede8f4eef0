"""Orchestration: compose the config, run the stage graph, wrap it with tracking and cost."""
