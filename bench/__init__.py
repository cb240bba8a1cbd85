"""`make bench`: the framework measured side by side with the same work on raw `temporalio`."""
