# One image for the worker and the API: `python worker.py` or `python api.py`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 API_HOST=0.0.0.0
WORKDIR /app

# Dependencies first, in a layer of their own: a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && useradd --create-home --uid 10001 app

COPY README.md ./
COPY agents ./agents
COPY workflows ./workflows
COPY activities ./activities
COPY devstack ./devstack
COPY worker.py api.py ./
RUN pip install --no-deps .

USER app
EXPOSE 8000 9464
CMD ["python", "api.py"]
