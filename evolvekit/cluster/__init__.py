"""evolvekit.cluster: ``evolvekit serve --redis URL`` as one node of a cluster (docs/cluster.md).

Ingest, worker and broadcast roles share Redis Streams: the ingest stream (a consumer group of
workers, ``XACK``/``XAUTOCLAIM``), the broadcast stream (tailed by every broadcaster node), the
outbox and the dead letters. Needs the optional ``redis`` package (``pip install
'evolvekit[cluster]'``); nothing here is imported by the single-node service.
"""

from __future__ import annotations

from evolvekit.cluster.keys import GROUP, Keys

__all__ = ["GROUP", "Keys"]
