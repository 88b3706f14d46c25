"""case stage of the itaoreport pipeline."""
