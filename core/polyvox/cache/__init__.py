"""The content cache: keys made from content, and the store that holds segment audio."""
