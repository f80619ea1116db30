# The two commands of the README. Both install what they need into .venv/ (pinned versions).
.PHONY: demo fake-org test sanity units integration lint docs benchmark clean

# The whole flow, offline: start the bundled fake org, provision, print the org's limits, stop.
demo:
	bash scripts/demo.sh

# The bundled fake org as a tool, until Ctrl-C: prints its URL, CA, admin credentials and the export lines to paste.
# FAKE_ORG_ARGS go to `python -m fake_org` (e.g. FAKE_ORG_ARGS='--propagation-delay 8').
fake-org:
	bash scripts/fake_org.sh $(FAKE_ORG_ARGS)

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
