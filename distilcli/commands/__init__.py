"""One thin module per subcommand: parse options, build a config, call ``run_*``, report, exit."""
