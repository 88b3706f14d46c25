"""render stage of the itaoreport pipeline."""
