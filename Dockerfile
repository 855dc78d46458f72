# syntax=docker/dockerfile:1
# Multi-stage: build the virtualenv with compilers available, run from a slim image as a
# non-root user. The service is installed as a wheel (not from a source tree): the Alembic
# migrations ship inside the package (app/migrations/), so `innoshare migrate` works from any
# directory.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, so that code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir app && touch app/__init__.py && pip install . && pip uninstall -y innoshare
COPY app ./app
RUN pip install --no-deps .

FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    INNOSHARE_ENV=production \
    INNOSHARE_WORKERS=2
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin innoshare \
    && install -d -o innoshare -g innoshare /app
COPY --from=build /opt/venv /opt/venv
# The working directory holds nothing but what the process writes (./var/ outside production).
WORKDIR /app
USER innoshare
EXPOSE 8000
# Each worker builds its search index before it answers (about 20 s for the seed's 124,000
# indexed items on 2 cores): the start period leaves room for it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status == 200 else 1)"]
# Migrate (replicas starting together take turns; with INNOSHARE_BOOTSTRAP_ADMIN_EMAIL and
# INNOSHARE_BOOTSTRAP_ADMIN_PASSWORD_FILE set, the first admin is created), then serve;
# INNOSHARE_WORKERS sets the worker processes.
CMD ["sh", "-c", "innoshare migrate && exec innoshare serve --host 0.0.0.0 --port 8000"]
