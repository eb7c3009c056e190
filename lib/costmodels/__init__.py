"""Cost models: what a policy or a system costs in time, energy or money."""
