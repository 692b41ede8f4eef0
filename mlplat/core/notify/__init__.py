"""Notifications: events, the messages each kind of target takes, and their delivery."""
