# syntax=docker/dockerfile:1
# The image of every colo process (the chart picks the process by its command):
#   docker build -t ghcr.io/colo-project/colo:0.1.0 .
# The Python version is the oldest pyproject.toml's requires-python allows, so the image
# runs what CI tests. tests/deploy/test_chart.py checks this file against the chart.

FROM python:3.11-slim-bookworm AS wheels
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
COPY --from=wheels /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && python -m compileall -q "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
# Every process but colo-agent runs as this user with a read-only root file system (the
# chart's securityContext); colo-agent runs as root, privileged, to write the host's cgroups.
USER 65532:65532
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
ENTRYPOINT []
CMD ["colo", "--help"]
