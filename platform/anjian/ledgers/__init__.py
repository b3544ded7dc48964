"""Enterprise ledgers (台账): the kinds of ledger (the core's and the plugins'), each
enterprise's entries with their expiry and review dates and reminders, the duties over
them (a drill a year, ...) with the hazards a missed duty raises, and the rules
(规章制度) each enterprise keeps against the tenant's templates."""
