"""Screen capture: grab the monitor under the cursor, crop regions, encode screenshots off the GUI thread."""
