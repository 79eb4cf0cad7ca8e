FROM --platform=linux/arm64 docker.io/library/python:3.9.18-bookworm@sha256:0d132e30eb9325d53c790738e5478e9abffc98b69115e7de429d7c6fc52dddac
ENV AIRBYTE_BASE_BASE_IMAGE="docker.io/library/python:3.9.18-bookworm@sha256:0d132e30eb9325d53c790738e5478e9abffc98b69115e7de429d7c6fc52dddac"
ENV AIRBYTE_BASE_IMAGE="airbyte-python-connector-base:0.1.0"
LABEL "io.airbyte.base_base_image"="docker.io/library/python:3.9.18-bookworm@sha256:0d132e30eb9325d53c790738e5478e9abffc98b69115e7de429d7c6fc52dddac"
LABEL "io.airbyte.base_image"="airbyte-python-connector-base:0.1.0"
RUN --mount=type=cache,id=pip_cache,target=/root/.cache/pip ["ln","-snf","/usr/share/zoneinfo/Etc/UTC","/etc/localtime"]
RUN --mount=type=cache,id=pip_cache,target=/root/.cache/pip ["pip","install","--upgrade","pip==23.2.1"]
