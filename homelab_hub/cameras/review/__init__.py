"""The alert review: groups, decisions, suppressions, the review model and its daily worker."""
