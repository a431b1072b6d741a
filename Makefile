# Two entry points, each working on a fresh Debian machine:
#   make serve   install the server's packages and the project itself (editable: the
#                `progress-client` command works from any folder), run `gunicorn -c gunicorn.conf.py`
#   make test    install everything the tests need (Debian's chromium, redis-server,
#                redis-sentinel, nginx and node/npm included, then axe-core from
#                package-lock.json) and run the whole suite
# CI runs `make test` (see .ci/run).

VENV := .venv
PYTHON := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBIAN_PACKAGES := chromium redis-server redis-sentinel nginx nodejs npm

.PHONY: serve test install install-test system-packages

$(VENV)/bin/activate:
	python3 -m venv $(VENV)

install: $(VENV)/bin/activate
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps --editable .

install-test: $(VENV)/bin/activate system-packages
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	npm ci --no-audit --no-fund --silent  # axe-core, pinned in package-lock.json, for the accessibility audit

system-packages:
	@missing=""; for cmd in chromium redis-server redis-sentinel nginx node npm; do \
		command -v $$cmd >/dev/null || [ -x /usr/sbin/$$cmd ] || missing=1; done; \
	if [ -n "$$missing" ]; then \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(DEBIAN_PACKAGES); \
	fi

serve: install
	$(VENV)/bin/gunicorn -c gunicorn.conf.py

test: install-test
	$(PYTHON) -m pytest
