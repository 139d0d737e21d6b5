// Filled in by the RTMP ingest work.
