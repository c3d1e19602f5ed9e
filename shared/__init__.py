"""What every dangol service needs and nothing domain-specific.

Modules here never import a service, and import their heavy dependencies lazily
so that a function pays at cold start only for what it uses.
"""
