"""Screens of the app: wizard, live run, results, history and compare, dialogs, help."""
