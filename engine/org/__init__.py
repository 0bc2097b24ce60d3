"""The organisation: units, departments, people and roles, the working calendar, notices, demo data."""
