# syntax=docker/dockerfile:1
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_URL=sqlite+aiosqlite:////app/data/curator.db \
    LOG_FILE=/app/logs/app.log \
    DATA_DIR=/app/data \
    HEALTH_HOST=0.0.0.0 \
    HEALTH_PORT=8080 \
    MALLOC_ARENA_MAX=2

WORKDIR /app

RUN groupadd --system --gid 10001 curator \
    && useradd --system --uid 10001 --gid curator --home-dir /app --shell /usr/sbin/nologin curator

COPY pyproject.toml README.md ./
COPY requirements/base.lock ./requirements/base.lock
RUN pip install --no-cache-dir --require-hashes -r requirements/base.lock
COPY bot ./bot
COPY handlers ./handlers
COPY workers ./workers
COPY storage ./storage
COPY platforms ./platforms
COPY content ./content
COPY services ./services
COPY webapp ./webapp
COPY locales ./locales

RUN pip install --no-cache-dir --no-deps . \
    && mkdir -p /app/data /app/logs \
    && chown -R curator:curator /app/data /app/logs

USER curator
VOLUME ["/app/data", "/app/logs"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request, sys; port = os.environ.get('HEALTH_PORT', '8080'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=4).status == 200 else 1)"]

CMD ["python", "-m", "bot"]
