"""Developer tools: the demo web server, the local cluster runner, the QA case format. Not part of the
runtime package."""
