"""Test-suite configuration shared by every test directory."""

# Scripts that made the sample files with real Keras: kept for provenance, never collected.
collect_ignore_glob = ["saving/samples/*"]
