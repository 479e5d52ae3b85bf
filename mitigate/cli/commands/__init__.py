"""The commands: each module registers its parser and handler (``register(subparsers)``).

Commands never import each other (an import-linter ``independence`` contract); what several of
them share lives one level up: :mod:`mitigate.cli.wiring` (ports, protection, incidents),
:mod:`mitigate.cli.library` (the runbook resolver), :mod:`mitigate.cli.drill` (the drill
preparation), :mod:`mitigate.cli.headless` (the headless driver), :mod:`mitigate.cli.tui` (the
bridge to the Textual app) and :mod:`mitigate.cli.options`.
"""
