"""Who speaks: `Voice`, voice folders and alias maps, and casting characters to usable voices."""
