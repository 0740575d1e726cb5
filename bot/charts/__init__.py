"""Charts: pictures of the numbers the knowledge entries state (``knowledge/charts.yaml``)."""
