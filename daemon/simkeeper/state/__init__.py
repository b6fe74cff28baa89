"""The SQLite state database, the one owner of SQL: the outbox, the ledgers, the change log,
retention and backup.
"""
