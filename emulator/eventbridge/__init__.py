"""EventBridge (2020-04-01): custom event buses and PutEvents."""
