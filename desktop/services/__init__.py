"""Adapters to the OS, the network and Qt's non-widget machinery."""
