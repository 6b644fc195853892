"""Who may do what: identities and API tokens, roles, encrypted secrets and the audit log.

Sits above the store (it persists tokens, secrets and audit records there) and below the
server, which turns its decisions into 401/403 responses through ``orbit.errors``.
"""
