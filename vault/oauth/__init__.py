"""OAuth: providers, the OAuth client, managed refresh and connect sessions."""
