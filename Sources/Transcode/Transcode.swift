// Filled in by the transcoder work.
