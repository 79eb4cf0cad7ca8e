# syntax=docker/dockerfile:1.6
# http://127.0.0.1:38471/e2e/data.zip is not pinned yet: its sha256 is recorded in versions.lock by the first build
FROM docker.io/library/busybox:1.36.1@sha256:73aaf090f3d85aa34ee199857f03fa3a95c8ede2ffd4cc2cdb5b94e566b11662 AS fetched-15
ADD http://127.0.0.1:38471/e2e/data.zip /archive
RUN ["sh","-c","mkdir -p /out && unzip -q /archive -d /out"]
FROM --platform=linux/amd64 base-images-e2e/bookworm-python:2
ENV AIRBYTE_BASE_IMAGE="e2e-python:1.0.0"
ENV PIP_BREAK_SYSTEM_PACKAGES="1"
LABEL "io.airbyte.base_image"="e2e-python:1.0.0"
RUN ["sh","-c","apt-get update && apt-get install -y --no-install-recommends tzdata && rm -rf /var/lib/apt/lists/*"]
RUN ["ln","-snf","/usr/share/zoneinfo/Etc/UTC","/etc/localtime"]
RUN --mount=type=cache,id=e2e-pip,target=/root/.cache/pip ["pip","install","six==1.16.0"]
RUN --mount=type=cache,id=e2e-pip,target=/root/.cache/pip ["groupadd","--gid","1000","airbyte"]
RUN --mount=type=cache,id=e2e-pip,target=/root/.cache/pip ["useradd","--uid","1000","--gid","1000","--create-home","airbyte"]
RUN --mount=type=cache,id=e2e-pip,target=/root/.cache/pip ["mkdir","--mode","755","/airbyte","/custom_cache"]
RUN --mount=type=cache,id=e2e-pip,target=/root/.cache/pip ["chown","airbyte:airbyte","/airbyte"]
RUN --mount=type=cache,id=e2e-pip,target=/root/.cache/pip ["/bin/sh","-c","mkdir -p \"$(dirname \"$1\")\" && printf '%s' \"$2\" > \"$1\" && chmod 755 \"$1\"","sh","/airbyte/base.sh","#!/bin/sh\nexec \"$@\"\n"]
ENV PIP_CACHE_DIR="/custom_cache/pip"
# http://127.0.0.1:38471/e2e/greeting.txt is not pinned yet: its sha256 is recorded in versions.lock by the first build
ADD --chown=airbyte --chmod=640 http://127.0.0.1:38471/e2e/greeting.txt /airbyte/greeting.txt
COPY --from=fetched-15 --chown=airbyte /out/ /opt/e2e-data/
RUN --mount=type=cache,id=e2e-pip,target=/root/.cache/pip ["env","PIP_CACHE_DIR=/root/.cache/pip","pip","install","six==1.17.0"]
