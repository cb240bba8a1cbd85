# One image for the worker and the API: `python worker.py` or `python api.py`.
# Usable as the base of your app's image (docs/how-to/deploying.md):
#   FROM temporal-agents:local
#   COPY --chown=app myapp ./myapp
#   ENV AGENT_MODULES=myapp.agents
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 API_HOST=0.0.0.0
WORKDIR /app

# Dependencies first, in a layer of their own (a code change does not reinstall them),
# exactly as locked: the image builds the same whenever it is built.
COPY requirements/api.lock ./requirements/
RUN pip install -r requirements/api.lock \
    && useradd --create-home --uid 10001 app

COPY pyproject.toml README.md ./
COPY agents ./agents
COPY workflows ./workflows
COPY activities ./activities
COPY devstack ./devstack
COPY temporal_agents ./temporal_agents
COPY worker.py api.py ./
RUN pip install --no-deps .

USER 10001
EXPOSE 8000 9464
CMD ["python", "api.py"]
