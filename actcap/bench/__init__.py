"""`actcap bench`: speed on this machine. Only the CLI imports this package; the library never does."""
