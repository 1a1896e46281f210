"""Inference pipelines (no training code here)."""
