"""The step kinds, one module each; each holds one :class:`~mitigate.engine.kind.StepKind`.

They never import the session or each other (import-linter contracts in pyproject.toml);
:mod:`mitigate.engine.registry` lists them. See CONTRIBUTING.md, "Add a step kind".
"""
