"""The keepalived.conf language: lexer, parser, keyword tables, model, renderer.

Entry point: :func:`pykeepalived.config.loader.load_config`.
"""
