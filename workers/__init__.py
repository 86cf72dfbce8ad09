"""Background workers run by the embedded AsyncIOScheduler."""
