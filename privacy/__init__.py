"""Privacy: pseudonyms, keys, the contact vault, exchanges, the register, the audit log, retention."""
