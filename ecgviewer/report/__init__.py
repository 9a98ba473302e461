"""Paper-style report of one ECG (page geometry Qt-free; painting via Qt)."""
