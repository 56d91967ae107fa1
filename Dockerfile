# syntax=docker/dockerfile:1
# One image for the four processes of the platform; each Kubernetes Deployment chooses its process with
# `command:` (python -m services.<name>.main), the migration Jobs run `gaoxin migrate --service <name>`.
# One process per container: no supervisor, no multi-worker server (metrics need no multiprocess mode).
#
#   make image                      # docker build -t gaoxin-platform:<version> .
#   docker run --rm gaoxin-platform:<version> gaoxin --help

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ---- builder: a virtualenv with the pinned dependencies, then the project as a wheel --------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
# Dependencies first, from pyproject.toml alone, so a change to the code does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && /opt/venv/bin/pip install --requirement /tmp/requirements.txt
COPY services ./services
COPY proto ./proto
RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /tmp/wheels . \
    && /opt/venv/bin/pip install --no-deps /tmp/wheels/*.whl \
    && /opt/venv/bin/pip check

# ---- runtime: the slim base, the virtualenv, an unprivileged numeric user -------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=dev
LABEL org.opencontainers.image.title="gaoxin-platform" \
      org.opencontainers.image.description="Gaoxin Open Platform: gateway, indicators, rewards, talent" \
      org.opencontainers.image.version="${VERSION}"
RUN groupadd --system --gid 10001 gaoxin \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin gaoxin
COPY --from=builder /opt/venv /opt/venv
# GAOXIN_HOST: listen on the pod's interfaces; GAOXIN_DATA_DIR: the only writable place (an emptyDir in
# Kubernetes, which runs with a read-only root file system); nothing is stored there with PostgreSQL.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GAOXIN_HOST=0.0.0.0 \
    GAOXIN_DATA_DIR=/tmp/gaoxin
# An empty working directory: `python -m services...` must import the installed package, not a stray folder.
WORKDIR /app
USER 10001:10001
EXPOSE 8000 50151 50152 50153 9151 9152 9153
CMD ["gaoxin", "--help"]
