// Filled in by the RTMP protocol work.
