"""The languages of the UI (Flask-Babel locales), in one place for the app and its views."""

LOCALES = ("vi", "en")
