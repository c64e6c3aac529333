from gigafleet.cli.main import run

run()
