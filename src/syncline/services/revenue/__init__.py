"""The revenue engine wired to the database.

Owns building the engine's contract from stored facts (`facts`), recognition of a period into
stored schedules and true-up journals (`sync`), read views of a schedule with explanations
(`views`) and revenue contract files (`files`). The ASC 606 / IFRS 15 rules themselves are
pure, in `syncline.revenue`.
"""
