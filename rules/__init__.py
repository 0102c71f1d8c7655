"""Rules: the safe rule language, dated legislative parameters and the catalogue of eligibility rules."""
