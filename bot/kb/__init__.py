"""The knowledge base: models, loader, queries. The only package that touches the database."""
