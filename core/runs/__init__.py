"""Runs: the typed run record, the store that keeps records, the queue where they are born, the local
worker pool, sweeps, and cost estimates read from calibrations and earlier runs."""
