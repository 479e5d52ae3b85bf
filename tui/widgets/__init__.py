"""Widgets grouped by screen area: header, step list, timeline, batch progress."""
