FROM --platform=linux/amd64 docker.io/library/python:3.9.18-slim-bookworm@sha256:44b7f161ed03f85e96d423b9916cdc8cb0509fb970fd643bdbc9896d49e1cad0
RUN ["ln","-snf","/usr/share/zoneinfo/Etc/UTC","/etc/localtime"]
RUN ["pip","install","--upgrade","pip==23.2.1"]
ENV POETRY_VIRTUALENVS_CREATE="false"
ENV POETRY_VIRTUALENVS_IN_PROJECT="false"
ENV POETRY_NO_INTERACTION="1"
RUN --mount=type=cache,id=pip-cache,target=/root/.cache/pip ["pip","install","poetry==1.6.1"]
ENV AIRBYTE_BASE_BASE_IMAGE="docker.io/library/python:3.9.18-slim-bookworm@sha256:44b7f161ed03f85e96d423b9916cdc8cb0509fb970fd643bdbc9896d49e1cad0"
ENV AIRBYTE_BASE_IMAGE="airbyte-python-connector-base:1.0.0"
LABEL "io.airbyte.base_base_image"="docker.io/library/python:3.9.18-slim-bookworm@sha256:44b7f161ed03f85e96d423b9916cdc8cb0509fb970fd643bdbc9896d49e1cad0"
LABEL "io.airbyte.base_image"="airbyte-python-connector-base:1.0.0"
