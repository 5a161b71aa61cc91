"""Pure accounting kernel: money, accounts, journal entries, balances. No I/O."""
