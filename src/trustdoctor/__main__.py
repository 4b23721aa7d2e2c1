from trustdoctor.cli.main import entry

entry()
