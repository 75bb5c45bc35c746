"""Subcommands of the ``serverless-cache`` console command, one module each.

A module has ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``;
:mod:`serverless_cache.cli` lists the modules and wires them into argparse.
"""
