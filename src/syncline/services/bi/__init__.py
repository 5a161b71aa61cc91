"""The BI feed: the canonical facts exported incrementally as Parquet for a data team
(docs/bi-feed.md).

`facts` declares each exported table — its query, its key, its columns and their Arrow
types (money as ``decimal128`` with a fixed scale, never float); `export` writes, per run and
table, one Parquet part file holding only the rows that are new or changed since the last
run (and a tombstone for each row gone), keeping what it wrote in a state file per table in
the feed's folder.
"""
