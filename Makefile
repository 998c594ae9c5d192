.PHONY: demo test docs
demo:
	bash scripts/dev.sh demo
test:
	bash scripts/dev.sh test
docs:
	.venv/bin/cog -r docs/cli.md
