"""itaoreport: turn a folder of dispute evidence into a claim report."""

__version__ = "0.1.0"
