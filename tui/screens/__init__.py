"""Screens: home, incident start, walker, and the modals they open."""
