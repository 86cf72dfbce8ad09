"""Text: AI generation, fitting to each platform's rules, image cards."""
