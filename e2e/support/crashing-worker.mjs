// A connector worker that dies at once, as a broken build or a missing module would.
process.exit(1);
