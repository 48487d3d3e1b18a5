"""The pipeline mode in the app: its setup (scenario, classifier, model), the run as it
goes, and its results."""
