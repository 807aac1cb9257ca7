"""Madoguchi: a Japanese-language municipal information guide."""
