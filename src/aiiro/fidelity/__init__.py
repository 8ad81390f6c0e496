"""Checking aiiro against another Indigo endpoint (docs/parity.md).

- compare.py: one home for comparing two answers by shape (types, keys, key order,
  status, the headers that matter), and the report both commands print;
- parity.py: `aiiro parity`, the read-only calls and the write scenarios, on two sides;
- recorder.py: `aiiro record`, a recording reverse proxy, and the recording file;
- replay.py: `aiiro replay`, a recording sent again to another endpoint.
"""
