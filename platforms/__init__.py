"""Publishers: one protocol, one implementation per platform."""
