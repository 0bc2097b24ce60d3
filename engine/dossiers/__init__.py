"""Administrative procedures: citizens' dossiers worked step by step against their time limits."""
