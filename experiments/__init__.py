"""The studies of the project, one folder each (``python -m experiments.<study>.run``); see README.md."""
