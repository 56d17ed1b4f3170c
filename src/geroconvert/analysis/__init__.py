"""Analysis of results: statistics (t50, bootstrap intervals, Hill fits), figures and the
report written from an archive."""
