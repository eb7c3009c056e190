"""Research code that the chapters import: models, metrics, cost models, data and claims."""
