"""The duplicate finder: pairs of contacts that may be one person, found fuzzily, explained in
words, scored by a model learned from the workspace's own data and its team's decisions."""
