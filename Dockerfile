# One image for every Sagsgang process: web (gunicorn), worker and beat (Celery), and init.
# docker-compose.yml chooses the command; configuration comes from SAGSGANG_* variables.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p engine webapp workflows && touch engine/__init__.py webapp/__init__.py workflows/__init__.py \
    && pip install . && pip uninstall -y sagsgang

COPY . .
# Editable: the shipped BPMN (bpmn/), the demo organisation and migrations/ are read from /app.
RUN pip install --no-deps -e . \
    && useradd --create-home --uid 10001 sagsgang \
    && mkdir -p /app/instance && chown sagsgang /app/instance

USER sagsgang
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)" || exit 1

CMD ["gunicorn", "-c", "python:webapp.serving", "--bind", "0.0.0.0:8000", "--workers", "2", "--worker-class", "gthread", "--threads", "4", "--access-logfile", "-", "webapp:create_app()"]
