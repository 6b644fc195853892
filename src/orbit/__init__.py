"""Orbit: a multi-cluster Kubernetes lifecycle platform."""
