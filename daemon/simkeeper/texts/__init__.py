"""Words: the gettext catalogs (``locale/``), the message templates, how values are shown and
human dates. Imports only ``core``.
"""
