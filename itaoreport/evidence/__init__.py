"""evidence stage of the itaoreport pipeline."""
