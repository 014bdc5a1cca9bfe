"""evolvekit.pipeline: the service that ingests, migrates, validates, publishes and broadcasts.

``pipeline`` (the core: subject -> detect -> migrate -> validate -> sinks, or a dead letter),
``sources`` (HTTP ingest endpoint, JSON-lines files, CXone poll), ``sinks`` (CXone with the
outbox, the broadcaster, JSONL), ``ingest_log`` (the store's atomic multi-step operations),
``service`` (everything in one process: ``evolvekit serve``), ``config`` (TOML settings) and
``metrics`` (Prometheus text).
"""
