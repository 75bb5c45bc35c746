"""AWS helpers that run at deploy time or around the Lambda runtime, not in the request path."""
