# Command-line tools the benchmarks run, from Debian's packages.
#
#   make stress-ng   install stress-ng if it is missing (bench/interference.py's offline work)
#
# Included from the top-level Makefile; it does not change that Makefile's default goal.

# apt-get needs root; use sudo when we are not root.
TOOLS_SUDO ?= $(shell [ "$$(id -u)" = 0 ] || echo sudo)

_tools_mk_saved_default_goal := $(.DEFAULT_GOAL)

.PHONY: stress-ng
stress-ng:
	@command -v stress-ng >/dev/null || ( \
	  echo "stress-ng: missing; installing Debian package stress-ng" && \
	  $(TOOLS_SUDO) apt-get update && \
	  $(TOOLS_SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends stress-ng )
	@stress-ng --version

.DEFAULT_GOAL := $(_tools_mk_saved_default_goal)
