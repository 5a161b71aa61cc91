"""``python -m syncline …``: the same command line as ``syncline …``."""

from syncline.cli.main import app

if __name__ == "__main__":
    app(prog_name="syncline")
