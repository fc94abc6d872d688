"""Helpers for the sso-broker integration suite (tests/integration).

Everything here drives the daemon only through its external contract: config files,
the ssoctl binary, the public and admin HTTP listeners, Redis and the audit file."""
