"""Processes: worker processes that extract chunks, how children are started, and memory handed back."""
