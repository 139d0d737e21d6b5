// Filled in by the demo source work.
