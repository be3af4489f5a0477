"""QObject view-models that turn service results into text the widgets show."""
