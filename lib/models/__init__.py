"""Models the chapters train: weather forecasters and the failure-predictor CNN."""
