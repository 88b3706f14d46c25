"""Themes shipped with itaoreport (installed as the itaoreport.themes package)."""
