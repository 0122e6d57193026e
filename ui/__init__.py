"""Streamlit helpers shared by the pages: cached loaders and per-session caches."""
