# The two commands of the README. Both install what they need into .venv/ (pinned versions).
.PHONY: demo test sanity units integration lint docs benchmark clean

# The whole flow, offline: start the bundled fake org, provision, print the org's limits, stop.
demo:
	bash scripts/demo.sh

# Every test: lint, sanity, units and integration on ansible-core 2.16, 2.19, 2.20 and 2.21 (tests/README.md: which where).
test:
	bash scripts/test.sh

sanity units integration lint:
	bash scripts/test.sh $@

# Benchmarks against the manual procedure and community.crypto (not a test; see docs/performance.md).
benchmark:
	bash tests/benchmarks/run.sh

# Render the collection documentation from the plugins' own DOCUMENTATION into build/docs.
docs:
	bash scripts/docs.sh

clean:
	rm -rf .venv build
