"""Reconciliation exceptions: what replication merged that a manager must look at."""
