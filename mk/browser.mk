# Headless Chromium for the browser tests (`pytest -m browser`, tests/report/).
#
#   make browser     install Debian's chromium if $(CHROMIUM) is missing, then print its version
#
# The tests launch it through Playwright's Python API with executable_path=$CHROMIUM, so
# no Playwright browser download is needed (never run `playwright install`).
# Included from the top-level Makefile; it does not change that Makefile's default goal.

CHROMIUM ?= /usr/bin/chromium
export CHROMIUM

# apt-get needs root; use sudo when we are not root.
BROWSER_SUDO ?= $(shell [ "$$(id -u)" = 0 ] || echo sudo)

_browser_mk_saved_default_goal := $(.DEFAULT_GOAL)

.PHONY: browser
browser:
	@if [ -x "$(CHROMIUM)" ]; then \
	  echo "browser: $(CHROMIUM) is already installed"; \
	else \
	  echo "browser: $(CHROMIUM) missing; installing Debian package chromium"; \
	  $(BROWSER_SUDO) apt-get update && \
	  $(BROWSER_SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium \
	  || exit 1; \
	fi
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "browser: $(CHROMIUM) still missing after install (set CHROMIUM=/path/to/chromium)" >&2; \
	  exit 1; \
	fi
	@"$(CHROMIUM)" --version

.DEFAULT_GOAL := $(_browser_mk_saved_default_goal)
