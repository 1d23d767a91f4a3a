"""CIFAR-10: fetching the official archive, the in-memory arrays, splits and statistics."""
