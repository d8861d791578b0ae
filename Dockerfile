# One image for every ArtStore service; docker-compose and Kubernetes choose the command:
#   python -m admin_module | storage_element | ingester_module | query_module
FROM python:3.11-slim AS build
ENV UV_PROJECT_ENVIRONMENT=/opt/venv UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir "uv==0.13.8"
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY shared ./shared
COPY admin_module ./admin_module
COPY storage_element ./storage_element
COPY ingester_module ./ingester_module
COPY query_module ./query_module
COPY artstore ./artstore
RUN uv sync --frozen --no-dev --no-editable

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/artstore artstore \
    && mkdir -p /var/lib/artstore && chown artstore /var/lib/artstore
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1
USER artstore
WORKDIR /var/lib/artstore
EXPOSE 8000 8010 8020 8030
CMD ["python", "-m", "admin_module"]
