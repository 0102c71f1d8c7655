"""Detection: the extract contract and its validation, the geography, detection runs and their records."""
