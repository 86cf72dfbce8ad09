"""Business rules shared by the chat (handlers) and the background workers."""
