"""``python -m distilcli`` runs the ``distil`` command line."""

from distilcli.cli import main

if __name__ == "__main__":
    main()
