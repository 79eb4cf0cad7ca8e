FROM --platform=linux/arm64 docker.io/library/python:3.9.18-slim-bookworm@sha256:44b7f161ed03f85e96d423b9916cdc8cb0509fb970fd643bdbc9896d49e1cad0
RUN --mount=type=cache,id=pip_cache,target=/root/.cache/pip ["ln","-snf","/usr/share/zoneinfo/Etc/UTC","/etc/localtime"]
RUN --mount=type=cache,id=pip_cache,target=/root/.cache/pip ["pip","install","--upgrade","pip==23.2.1"]
ENV POETRY_VIRTUALENVS_CREATE="false"
ENV POETRY_VIRTUALENVS_IN_PROJECT="false"
ENV POETRY_NO_INTERACTION="1"
RUN --mount=type=cache,id=pip_cache,target=/root/.cache/pip ["pip","install","poetry==1.6.1"]
RUN --mount=type=cache,id=pip_cache,target=/root/.cache/pip ["sh","-c","apt update && apt-get install -y socat=1.7.4.4-2"]
