"""Arms at work: the prompt each arm builds from its context source, answering and storing predictions, the judge."""
