"""Motion zones: polygons, masks, their store and the editor."""
