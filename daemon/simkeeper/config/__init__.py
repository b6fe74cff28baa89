"""Reading the TOML: load, validation against the schema, the validated-config cache, the
generated docs, secrets, TOML line numbers and the built-in carrier plans (``plans.toml``).
"""
