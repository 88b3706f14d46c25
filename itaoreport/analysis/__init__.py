"""analysis stage of the itaoreport pipeline."""
