# One image for the worker and the API: `python worker.py` or `python api.py`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 API_HOST=0.0.0.0
WORKDIR /app

COPY pyproject.toml README.md ./
COPY agents ./agents
COPY workflows ./workflows
COPY activities ./activities
COPY devstack ./devstack
COPY worker.py api.py ./
RUN pip install --no-cache-dir . && useradd --create-home --uid 10001 app

USER app
EXPOSE 8000 9464
CMD ["python", "api.py"]
